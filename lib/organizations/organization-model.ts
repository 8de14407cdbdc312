import { type Connection, type InferRawDocType, type Model, Schema } from "mongoose";

/**
 * An organization, keyed by the Clerk organization id as `_id` (every sync write is a
 * primary-key lookup). As for users: `clerkUpdatedAt` is the version last applied,
 * `deletedAt` the tombstone that keeps a deleted organization deleted (Clerk never reuses
 * an id).
 */
const organizationSchemaDefinition = {
  _id: { type: String, required: true },
  name: { type: String },
  slug: { type: String },
  imageUrl: { type: String },
  publicMetadata: { type: Schema.Types.Mixed },
  membersCount: { type: Number },
  clerkCreatedAt: { type: Date },
  clerkUpdatedAt: { type: Date },
  deletedAt: { type: Date },
  /** App events written in the same write as the change they report, then published and removed (lib/events/outbox.ts). */
  outbox: { type: [{ _id: false, id: String, name: String, data: Schema.Types.Mixed }], default: undefined },
} as const;

const organizationSchema = new Schema(organizationSchemaDefinition, {
  collection: "organizations",
  timestamps: true,
  minimize: false,
  versionKey: false,
  strict: "throw",
});

// The outbox sweep looks for non-empty outboxes.
organizationSchema.index({ "outbox.id": 1 }, { sparse: true });

export type OrganizationDocument = InferRawDocType<typeof organizationSchemaDefinition> & { createdAt: Date; updatedAt: Date };
export type OrganizationModel = Model<OrganizationDocument>;

export function organizationModelFor(connection: Connection): OrganizationModel {
  return (connection.models.Organization as OrganizationModel | undefined) ?? connection.model<OrganizationDocument>("Organization", organizationSchema);
}
