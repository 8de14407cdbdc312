import type { UserDocument, UserModel } from "./user-model.js";
import type { ProfilePatch } from "./profile-schemas.js";

/**
 * Applies a validated profile patch in one write: a value sets the field, `null`
 * clears it, an absent key leaves it. Returns `null` when the user is gone (tombstoned
 * meanwhile): a deleted account is never edited back into existence.
 */
export async function updateProfile(users: UserModel, userId: string, patch: ProfilePatch): Promise<UserDocument | null> {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ""> = {};
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) {
      unset[`profile.${field}`] = "";
    } else if (field === "preferences") {
      for (const [key, preference] of Object.entries(value as Record<string, unknown>)) {
        if (preference !== undefined) set[`profile.preferences.${key}`] = preference;
      }
    } else {
      set[`profile.${field}`] = value;
    }
  }
  return users
    .findOneAndUpdate(
      { _id: userId, deletedAt: null },
      { ...(Object.keys(set).length > 0 && { $set: set }), ...(Object.keys(unset).length > 0 && { $unset: unset }) },
      { returnDocument: "after" },
    )
    .lean<UserDocument>();
}
