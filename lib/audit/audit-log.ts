import { type Connection, type InferRawDocType, type Model, Schema, Types } from "mongoose";
import type { AuditEntry, AuditSink } from "../users/user-store.js";

/** What a record is about: a user (the default), an organization, or a membership (`userId` then holds `<organizationId>:<userId>`). */
export type AuditEntity = "user" | "organization" | "membership";

/** Every sync decision, or a failed or rejected sync, as the audit trail keeps it. */
export type AuditRecordInput = Omit<AuditEntry, "decision"> & {
  decision: AuditEntry["decision"] | "rejected" | "failed" | "superseded" | "removed" | "organization-deleted" | "user-deleted";
  entity?: AuditEntity;
  detail?: string;
};

const auditSchemaDefinition = {
  /** The id of the record the decision is about (see AuditEntity). */
  userId: { type: String, required: true },
  entity: { type: String },
  source: { type: String, required: true },
  sourceEventId: { type: String, default: null },
  decision: { type: String, required: true },
  change: { type: String, default: null },
  detail: { type: String },
  at: { type: Date, required: true },
} as const;

const auditSchema = new Schema(auditSchemaDefinition, { collection: "sync_audit", versionKey: false, strict: "throw" });
auditSchema.index({ userId: 1, _id: -1 });
auditSchema.index({ at: 1 });

export type AuditRecord = InferRawDocType<typeof auditSchemaDefinition> & { _id: unknown };

export interface AuditLog extends AuditSink {
  record(entries: AuditRecordInput[]): Promise<void>;
  /** One user's history, newest first; `beforeId` is the `_id` of the last record of the previous page. */
  history(userId: string, options: { limit: number; beforeId?: string }): Promise<AuditRecord[]>;
  countFailuresSince(since: Date): Promise<number>;
  /** When an event from `source` was last handled (applied, or found a duplicate or stale): that layer runs. */
  lastHandledAt(source: AuditEntry["source"]): Promise<Date | null>;
  purgeOlderThan(cutoff: Date): Promise<number>;
}

/** The stored shape of an entry: the schema's fields only, an absent optional field left out (not written as null). */
function toRecord({ userId, entity, source, sourceEventId, decision, change, detail }: AuditRecordInput, at: Date): Omit<AuditRecord, "_id"> {
  return { userId, source, sourceEventId: sourceEventId ?? null, decision, change: change ?? null, at, ...(entity !== undefined && { entity }), ...(detail !== undefined && { detail }) };
}

export function createAuditLog(connection: Connection, now: () => Date = () => new Date()): AuditLog {
  const model =
    (connection.models.SyncAudit as Model<AuditRecord> | undefined) ?? connection.model<AuditRecord>("SyncAudit", auditSchema);
  return {
    async record(entries) {
      if (entries.length === 0) return;
      const at = now();
      // `lean`: plain records, not a hydrated Mongoose document each (a reconciliation batch records
      // 2,000). Lean skips casting, validation and defaults, so `toRecord` writes exactly the schema's fields.
      await model.insertMany(
        entries.map((entry) => toRecord(entry, at)),
        { ordered: false, lean: true },
      );
    },
    history(userId, { limit, beforeId }) {
      return model
        .find({ userId, ...(beforeId && { _id: { $lt: new Types.ObjectId(beforeId) } }) })
        .sort({ _id: -1 })
        .limit(limit)
        .lean<AuditRecord[]>();
    },
    async lastHandledAt(source) {
      const latest = await model.findOne({ source, decision: { $nin: ["failed", "rejected"] } }, { at: 1 }).sort({ at: -1 }).lean<{ at: Date }>();
      return latest?.at ?? null;
    },
    countFailuresSince(since) {
      return model.countDocuments({ decision: "failed", at: { $gte: since } });
    },
    async purgeOlderThan(cutoff) {
      return (await model.deleteMany({ at: { $lt: cutoff } })).deletedCount;
    },
  };
}
