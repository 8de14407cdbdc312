import { describe, expect, it } from "vitest";
import { createAuditLog } from "../../../lib/audit/audit-log.js";
import { useTestDatabase } from "../../support/mongo.js";

const db = useTestDatabase();
const at = new Date("2026-12-04T12:00:00.000Z");

describe("the audit log's records", () => {
  it("stores exactly the schema's fields: an absent optional field is left out, not written as null", async () => {
    const audit = createAuditLog(db.connection(), () => at);
    await audit.record([
      { userId: "user_a", source: "webhook", sourceEventId: "msg_1", decision: "applied", change: "created" },
      { userId: "org_1", entity: "organization", source: "reconcile", sourceEventId: null, decision: "failed", change: null, detail: "Clerk answered 500" },
    ]);
    const stored = await db.connection().db!.collection("sync_audit").find({}, { projection: { _id: 0 } }).sort({ userId: -1 }).toArray();
    expect(stored).toEqual([
      { userId: "user_a", source: "webhook", sourceEventId: "msg_1", decision: "applied", change: "created", at },
      { userId: "org_1", entity: "organization", source: "reconcile", sourceEventId: null, decision: "failed", change: null, detail: "Clerk answered 500", at },
    ]);
  });

  it("reads a user's history back newest first, with an ObjectId per record", async () => {
    const audit = createAuditLog(db.connection(), () => at);
    await audit.record([{ userId: "user_b", source: "webhook", sourceEventId: "msg_1", decision: "applied", change: "created" }]);
    await audit.record([{ userId: "user_b", source: "webhook", sourceEventId: "msg_2", decision: "duplicate", change: null }]);
    const history = await audit.history("user_b", { limit: 10 });
    expect(history.map((record) => record.sourceEventId)).toEqual(["msg_2", "msg_1"]);
    expect(String(history[0]!._id)).toMatch(/^[0-9a-f]{24}$/);
  });
});
