import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInngestHandler } from "../../inngest/serve.js";
import { createInngestClient } from "../../inngest/client.js";
import { createLogger } from "../../lib/logger.js";
import { createAuditLog } from "../../lib/audit/audit-log.js";
import { createOutboxPublisher } from "../../lib/events/outbox.js";
import { createUserStore } from "../../lib/users/user-store.js";
import { clerkUser } from "../support/clerk-fixtures.js";
import { serveHandler } from "../support/http.js";
import { testInngestConfig, testSchedule } from "../support/inngest.js";
import { useTestDatabase } from "../support/mongo.js";

const db = useTestDatabase();
const inngest = createInngestClient(testInngestConfig, createLogger("silent"));
let endpoint: Awaited<ReturnType<typeof serveHandler>>;
beforeAll(async () => {
  endpoint = await serveHandler(
    createInngestHandler(inngest, {
      users: async () => createUserStore(db.users()),
      maintenance: () => Promise.reject(new Error("not used here")),
      outbox: async () => createOutboxPublisher(db.users(), async () => {}),
      audit: async () => createAuditLog(db.connection()),
      activity: () => Promise.reject(new Error("no activity store in this test")),
      publisher: async () => null,
    welcomeEmail: {
      users: () => Promise.reject(new Error("no welcome email in this test")),
      mailer: () => Promise.reject(new Error("no welcome email in this test")),
    },
      schedule: testSchedule,
    }),
  );
});
afterAll(() => endpoint.close());

/** JSON with object keys sorted, as the SDK canonicalises a body before checking its signature. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Signs a call the way Inngest cloud does: HMAC-SHA256(key without its prefix, body + t). */
function inngestSignature(body: unknown, signingKey: string): string {
  const t = String(Math.floor(Date.now() / 1000));
  const key = signingKey.replace(/^signkey-\w+-/, "");
  const s = createHmac("sha256", key).update(canonical(body) + t).digest("hex");
  return `t=${t}&s=${s}`;
}

function runRequest(userId: string) {
  const event = { name: "clerk/user.created", id: `msg_${userId}`, ts: 5_000, data: clerkUser({ id: userId, updatedAt: 5_000 }) };
  return { version: 1, event, events: [event], steps: {}, ctx: { run_id: `run_${userId}`, attempt: 0 } };
}

const call = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${endpoint.url}/api/inngest?fnId=${inngest.id}-sync-clerk-user-created&stepId=step`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("the real Inngest serve handler (cloud mode, signing key enforced)", () => {
  it("refuses an unsigned call and runs nothing", async () => {
    const response = await call(runRequest("user_unsigned"));
    expect(response.status).toBe(401);
    expect(await db.users().countDocuments()).toBe(0);
  });

  it("refuses a call signed with another key", async () => {
    const body = runRequest("user_forged");
    const response = await call(body, { "x-inngest-signature": inngestSignature(body, "signkey-test-ffffffffffffffff") });
    expect(response.status).toBe(401);
    expect(await db.users().countDocuments()).toBe(0);
  });

  it("refuses an unsigned introspection request", async () => {
    expect((await fetch(`${endpoint.url}/api/inngest`)).status).toBe(401);
  });

  it("runs a correctly signed call: the user lands in MongoDB", async () => {
    const body = runRequest("user_signed");
    const response = await call(body, { "x-inngest-signature": inngestSignature(body, testInngestConfig.signingKey) });
    expect(response.status).toBeLessThan(300);
    expect(await db.users().findById("user_signed").lean()).toMatchObject({ email: "user_signed@example.com" });
  });
});
