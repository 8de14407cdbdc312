import { InngestTestEngine } from "@inngest/test";
import { createInngestClient } from "../../inngest/client.js";
import { createFunctions } from "../../inngest/functions/index.js";
import type { FunctionDeps } from "../../inngest/functions/apply-clerk-user-event.js";
import type { AuditLog } from "../../lib/audit/audit-log.js";
import type { OutboxPublisher } from "../../lib/events/outbox.js";
import type { SyncCore } from "../../lib/sync-core.js";
import type { UserStore } from "../../lib/users/user-store.js";
import { createLogger } from "../../lib/logger.js";

export const testInngestConfig = {
  appId: "clerk-mongo-sync-test",
  eventKey: "test-event-key",
  signingKey: "signkey-test-0123456789abcdef",
  signingKeyFallback: undefined,
  isDev: false,
  baseUrl: "http://127.0.0.1:9/",
  sendTimeoutMs: 1_000,
  apiSendTimeoutMs: 400,
};

export const testSchedule = {
  reconcileCron: "0 * * * *",
  purgeCron: "30 3 * * *",
  outboxCron: "*/5 * * * *",
  deletedUserRetentionMs: 30 * 86_400_000,
  auditRetentionMs: 90 * 86_400_000,
};

/** The real functions, each behind an `@inngest/test` engine, over the given store. */
/** Where a test does not look at app events or the audit trail, they go nowhere. */
const unobserved = {
  outbox: async (): Promise<OutboxPublisher> => ({ publish: async () => 0, publishPending: async () => 0 }),
  audit: async () => ({ record: async () => {} }) as unknown as AuditLog,
};

export function syncFunctionEngines(
  users: () => Promise<UserStore>,
  maintenance: () => Promise<SyncCore> = () => Promise.reject(new Error("no maintenance services in this test")),
  observed: Partial<Pick<FunctionDeps, "outbox" | "audit">> = {},
) {
  const inngest = createInngestClient(testInngestConfig, createLogger("silent"));
  const functions = createFunctions(inngest, {
    users,
    maintenance,
    schedule: testSchedule,
    activity: () => Promise.reject(new Error("no activity store in this test")),
    publisher: async () => null,
    welcomeEmail: {
      users: () => Promise.reject(new Error("no welcome email in this test")),
      mailer: () => Promise.reject(new Error("no welcome email in this test")),
    },
    ...unobserved,
    ...observed,
  });
  const byId = new Map(functions.map((fn) => [fn.id(inngest.id).replace(`${inngest.id}-`, ""), fn]));
  /** A fresh engine per run: an engine caches step results across its executions. */
  const engineById = (id: string) => {
    const fn = byId.get(id);
    if (!fn) throw new Error(`no function ${id} (have ${[...byId.keys()].join(", ")})`);
    return new InngestTestEngine({ function: fn });
  };
  const engineFor = (eventName: string) => engineById(`sync-${eventName.replace("/", "-").replace(".", "-")}`);
  return { inngest, functions, engineFor, engineById };
}
