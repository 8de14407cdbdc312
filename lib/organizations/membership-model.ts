import { type Connection, type InferRawDocType, type Model, Schema } from "mongoose";

/**
 * A user's membership of an organization, one document per (organization, user) pair:
 * `_id` is `<organizationId>:<userId>`, so the pair is unique by the primary key itself (no
 * partial index, which FerretDB lacks, and no second document a race could create).
 *
 * It holds the Clerk membership it currently reflects (`membershipId`, `generation` = that
 * membership's `created_at`, `clerkUpdatedAt` = its version): a member removed and re-added
 * gets a new Clerk membership id, which replaces the old one here, while a late event of the
 * old id changes nothing (lib/sync/decide-membership.ts). `removedAt` set: not a member.
 */
const membershipSchemaDefinition = {
  _id: { type: String, required: true },
  organizationId: { type: String, required: true },
  userId: { type: String, required: true },
  membershipId: { type: String, required: true },
  generation: { type: Date, required: true },
  clerkUpdatedAt: { type: Date, required: true },
  role: { type: String },
  permissions: { type: [String], default: undefined },
  publicMetadata: { type: Schema.Types.Mixed },
  removedAt: { type: Date },
  /**
   * When the retention purge erased this ended membership's personal data (its user was deleted
   * longer ago than the retention period): the ids and versions stay, so a late event still
   * finds it superseded or removed.
   */
  purgedAt: { type: Date },
  /** App events written in the same write as the change they report, then published and removed (lib/events/outbox.ts). */
  outbox: { type: [{ _id: false, id: String, name: String, data: Schema.Types.Mixed }], default: undefined },
} as const;

const membershipSchema = new Schema(membershipSchemaDefinition, {
  collection: "memberships",
  timestamps: true,
  minimize: false,
  versionKey: false,
  strict: "throw",
});

// "My organizations" and "members of X" pages, newest key order for stable cursors.
membershipSchema.index({ userId: 1, removedAt: 1, _id: 1 });
membershipSchema.index({ organizationId: 1, removedAt: 1, _id: 1 });
// The outbox sweep looks for non-empty outboxes.
membershipSchema.index({ "outbox.id": 1 }, { sparse: true });

export type MembershipDocument = InferRawDocType<typeof membershipSchemaDefinition> & { createdAt: Date; updatedAt: Date };
export type MembershipModel = Model<MembershipDocument>;


export function membershipModelFor(connection: Connection): MembershipModel {
  return (connection.models.Membership as MembershipModel | undefined) ?? connection.model<MembershipDocument>("Membership", membershipSchema);
}
