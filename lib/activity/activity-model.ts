import { type Connection, type Model, Schema } from "mongoose";
import { type ActivityKind, activityKinds } from "./activity-kinds.js";

/**
 * One Clerk session event, in `session_activity`. `_id` is `${sessionId}:${kind}`, so a
 * redelivered or duplicated event inserts nothing the second time (the `_id` unique index
 * decides, on every MongoDB-compatible server). Kept ACTIVITY_RETENTION_DAYS, then purged
 * by `purge-session-activity` (a scheduled delete, not a TTL index).
 */
export interface ActivityDocument {
  _id: string;
  userId: string;
  kind: ActivityKind;
  sessionId: string;
  /** When it happened, by Clerk's clock (the session's `created_at` or `updated_at`). */
  at: Date;
  clientIp: string | null;
  userAgent: string | null;
  /** When we recorded it. */
  createdAt: Date;
}
export type ActivityModel = Model<ActivityDocument>;

export const activitySchema = new Schema<ActivityDocument>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    kind: { type: String, required: true, enum: activityKinds },
    sessionId: { type: String, required: true },
    at: { type: Date, required: true },
    clientIp: { type: String, default: null },
    userAgent: { type: String, default: null },
  },
  {
    collection: "session_activity",
    timestamps: { createdAt: true, updatedAt: false },
    versionKey: false,
    strict: "throw",
  },
);
/** `GET /api/me/activity`: one user's records, newest first. */
activitySchema.index({ userId: 1, at: -1 });

/** The activity model bound to one connection (a model per connection, no global registry). */
export function activityModelFor(connection: Connection): ActivityModel {
  return (connection.models.SessionActivity as ActivityModel | undefined) ?? connection.model<ActivityDocument>("SessionActivity", activitySchema);
}
