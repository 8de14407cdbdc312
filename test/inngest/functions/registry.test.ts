import { describe, expect, it } from "vitest";
import { createInngestClient } from "../../../inngest/client.js";
import { createFunctions } from "../../../inngest/functions/index.js";
import { createLogger } from "../../../lib/logger.js";
import { deployedAppEventNames } from "../../support/app-event-names.js";
import { testInngestConfig, testSchedule } from "../../support/inngest.js";

/** Registration only: no function runs, so no dependency is ever resolved. */
const unused = () => Promise.reject(new Error("not used: this test only reads the functions' configuration"));
const functions = createFunctions(createInngestClient(testInngestConfig, createLogger("silent")), {
  users: unused,
  outbox: unused,
  audit: unused,
  maintenance: unused,
  schedule: testSchedule,
  activity: unused,
  publisher: unused,
  welcomeEmail: { users: unused, mailer: unused },
});

/** What Inngest is told about a function at registration, in a form a table can hold. */
function registration(fn: (typeof functions)[number]) {
  const opts = fn.opts as {
    triggers: ({ name: string } | { event: string } | { cron: string })[];
    concurrency?: unknown;
    retries?: number;
    idempotency?: string;
    onFailure?: unknown;
    batchEvents?: unknown;
    singleton?: unknown;
  };
  return {
    id: fn.id(),
    triggers: opts.triggers.map((trigger) => ("name" in trigger ? trigger.name : "event" in trigger ? trigger.event : `cron ${trigger.cron}`)),
    concurrency: opts.concurrency,
    retries: opts.retries,
    idempotency: opts.idempotency,
    onFailure: typeof opts.onFailure === "function",
    batchEvents: opts.batchEvents,
    singleton: opts.singleton,
  };
}

const perSessionUser = { limit: 1, key: '"clerk-user:" + event.data.user_id', scope: "env" };
const oneAtATime = { limit: 1 };
const defaults = { retries: undefined, idempotency: undefined, onFailure: false, batchEvents: undefined, singleton: undefined };
/** Batches of Clerk user events: a burst applied 100 at a time, a lone event after at most 1 s. */
const userBatches = { maxSize: 100, timeout: "1s" };

/**
 * The deployed contract. Inngest keeps a function's runs, history and queued events under its
 * id, and its concurrency key decides which runs wait for which: renaming either is a
 * migration, not a refactor. Change this table only on purpose.
 */
const expected = [
  { ...defaults, id: "sync-clerk-user-created", triggers: ["clerk/user.created"], concurrency: undefined, batchEvents: userBatches },
  { ...defaults, id: "sync-clerk-user-updated", triggers: ["clerk/user.updated"], concurrency: undefined, batchEvents: userBatches },
  { ...defaults, id: "sync-clerk-user-deleted", triggers: ["clerk/user.deleted"], concurrency: undefined, batchEvents: userBatches },
  {
    ...defaults,
    id: "sync-clerk-organization",
    triggers: ["clerk/organization.created", "clerk/organization.updated", "clerk/organization.deleted"],
    concurrency: { limit: 1, key: '"clerk-organization:" + event.data.id', scope: "env" },
  },
  {
    ...defaults,
    id: "sync-clerk-membership",
    triggers: ["clerk/organizationMembership.created", "clerk/organizationMembership.updated", "clerk/organizationMembership.deleted"],
    concurrency: { limit: 1, key: '"clerk-membership:" + event.data.organization.id + ":" + event.data.public_user_data.user_id', scope: "env" },
  },
  // A singleton: the cron and a manual request never overlap (the later one is skipped).
  {
    ...defaults,
    id: "reconcile-users",
    triggers: [`cron ${testSchedule.reconcileCron}`, "app/users.reconcile.requested"],
    concurrency: undefined,
    singleton: { mode: "skip" },
    retries: 3,
  },
  { ...defaults, id: "purge-deleted-users", triggers: [`cron ${testSchedule.purgeCron}`], concurrency: oneAtATime },
  { ...defaults, id: "resync-user", triggers: ["app/user.resync.requested"], concurrency: { limit: 1, key: '"clerk-user:" + event.data.userId', scope: "env" } },
  { ...defaults, id: "publish-pending-app-events", triggers: [`cron ${testSchedule.outboxCron}`], concurrency: oneAtATime },
  { ...defaults, id: "record-session-created", triggers: ["clerk/session.created"], concurrency: perSessionUser },
  { ...defaults, id: "record-session-ended", triggers: ["clerk/session.ended"], concurrency: perSessionUser },
  { ...defaults, id: "record-session-removed", triggers: ["clerk/session.removed"], concurrency: perSessionUser },
  { ...defaults, id: "record-session-revoked", triggers: ["clerk/session.revoked"], concurrency: perSessionUser },
  { ...defaults, id: "purge-session-activity", triggers: ["cron 45 3 * * *"], concurrency: oneAtATime },
  {
    ...defaults,
    id: "publish-app-events",
    triggers: [...deployedAppEventNames],
    concurrency: undefined,
    retries: 10,
    onFailure: true,
  },
  {
    ...defaults,
    id: "send-welcome-email",
    triggers: ["app/user.created"],
    concurrency: { limit: 1, key: "event.data.userId" },
    idempotency: "event.data.userId",
  },
];

describe("the Inngest functions api/inngest.ts serves", () => {
  it("keep their deployed ids, triggers, concurrency keys, retries, idempotency keys and failure handlers", () => {
    expect(functions.map(registration)).toEqual(expected);
  });

  it("have unique ids", () => {
    const ids = functions.map((fn) => fn.id());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("serialise a user's session and resync runs on one key space (the batched user functions rely on compare-and-set alone)", () => {
    // Different expressions (user id at event.data.user_id, .userId), one "clerk-user:" prefix and scope:
    // a rename of the prefix in one family alone would let that family race the others.
    const userKeyed = functions.map(registration).filter(({ concurrency }) => JSON.stringify(concurrency ?? null).includes("clerk-user:"));
    expect(userKeyed.map(({ id }) => id)).toEqual([
      "resync-user",
      "record-session-created",
      "record-session-ended",
      "record-session-removed",
      "record-session-revoked",
    ]);
    for (const { concurrency } of userKeyed) expect(concurrency).toMatchObject({ limit: 1, scope: "env", key: expect.stringMatching(/^"clerk-user:" \+ event\.data\.\w+$/) });
  });
});
