import { type Connection, type InferRawDocType, type Model, Schema } from "mongoose";

/**
 * A user, keyed by the Clerk user id as `_id`: every sync write is then a lookup by
 * the primary key, and a second document for one Clerk user cannot exist.
 *
 * Sync bookkeeping: `clerkUpdatedAt` is the Clerk version last applied (the ordering
 * rule compares it); `deletedAt` is the tombstone that keeps a deleted user deleted.
 * A tombstone written before the user was ever seen holds only `_id` and `deletedAt`.
 *
 * Every top-level path here is a stored field of the user contract (user-contract.ts), which
 * says where each comes from and where it appears; test/lib/users/user-contract.test.ts fails
 * when the two disagree.
 */
const emailAddressSchema = new Schema(
  {
    id: { type: String, required: true },
    emailAddress: { type: String, required: true },
    verified: { type: Boolean, required: true },
  },
  { _id: false },
);

/** App-owned profile: the only fields a user edits through the API (Clerk owns the rest). */
const profileSchema = new Schema(
  {
    displayName: { type: String },
    bio: { type: String },
    preferences: {
      theme: { type: String },
      locale: { type: String },
      emailNotifications: { type: Boolean },
    },
  },
  { _id: false, minimize: true },
);

const userSchemaDefinition = {
  _id: { type: String, required: true },
  email: { type: String },
  emailAddresses: { type: [emailAddressSchema] },
  firstName: { type: String },
  lastName: { type: String },
  username: { type: String },
  imageUrl: { type: String },
  publicMetadata: { type: Schema.Types.Mixed },
  banned: { type: Boolean },
  locked: { type: Boolean },
  clerkCreatedAt: { type: Date },
  clerkUpdatedAt: { type: Date },
  deletedAt: { type: Date },
  /** When the purge removed a tombstoned user's personal data (only `_id` and `deletedAt` remain). */
  purgedAt: { type: Date },
  profile: { type: profileSchema },
  /** Last authenticated API request, written at most once per LAST_SEEN_INTERVAL_SECONDS. */
  lastSeenAt: { type: Date },
  /** From Clerk's session webhooks; only ever moved forward. */
  lastSignInAt: { type: Date },
  lastActiveAt: { type: Date },
  /**
   * App events written in the same update as the change they report (a transactional
   * outbox), then published and removed: a crash between the two republishes, never loses.
   */
  outbox: { type: [{ _id: false, id: String, name: String, data: Schema.Types.Mixed }], default: undefined },
  /** The welcome email: claimed before sending (at most once), then marked sent. */
  welcomeEmail: { claimedAt: { type: Date }, sentAt: { type: Date } },
} as const;

export const userSchema = new Schema(userSchemaDefinition, {
  collection: "users",
  timestamps: true,
  minimize: false,
  versionKey: false,
  strict: "throw",
});

// Admin search is an anchored prefix on email; the outbox sweep looks for non-empty outboxes.
userSchema.index({ email: 1 });
userSchema.index({ "outbox.id": 1 }, { sparse: true });

export type UserDocument = InferRawDocType<typeof userSchemaDefinition> & {
  createdAt: Date;
  updatedAt: Date;
};
export type UserModel = Model<UserDocument>;

/** The `User` model bound to one connection (a model per connection, no global registry). */
export function userModelFor(connection: Connection): UserModel {
  return (connection.models.User as UserModel | undefined) ?? connection.model<UserDocument>("User", userSchema);
}
