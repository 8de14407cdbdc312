import { fieldsIn, snapshotJson } from "../contract/field-table.js";
import { userFields } from "../users/user-contract.js";
import type { AppEvent, SyncOrigin, SyncWrite, UserSnapshot } from "./types.js";

/** The fields whose change is announced, in the order `changedFields` lists them (the user contract's `changedFields`). */
const announcedFields = fieldsIn(userFields, "changedFields") satisfies (keyof UserSnapshot)[];
/** The fields app events carry in `user` (the user contract's `appEvent`), taken from the snapshot written. */
const appEventFields = fieldsIn(userFields, "appEvent") satisfies (keyof UserSnapshot)[];

const defaultOrigin: SyncOrigin = { source: "webhook", sourceEventId: null };

const publicUser = (snapshot: UserSnapshot) => snapshotJson(snapshot, appEventFields);

/**
 * Equal as JSON data: objects by their keys and values in any key order (Inngest and MongoDB
 * may hand back metadata with its keys re-ordered: Inngest sorts them), arrays in order,
 * dates by instant; `undefined` is `null`, and a key holding `undefined` is an absent key,
 * as in JSON. Never `JSON.stringify` comparison, which depends on key order.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  a ??= null;
  b ??= null;
  if (a === b) return true;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameValue(item, b[index]));
  }
  const definedKeys = (value: object) => Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined);
  const keysA = definedKeys(a);
  const keysB = new Set(definedKeys(b));
  return (
    keysA.length === keysB.size &&
    keysA.every((key) => keysB.has(key) && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}

/**
 * Pure: the app event a write produces, or `null`. `created` for a new user, `updated`
 * only when a field consumers see changed (Clerk bumps `updated_at` for fields we do not
 * store), `deleted` when a known user is tombstoned (a tombstone for a user never seen
 * announces nothing). The id depends only on the change, never on the delivery.
 */
export function appEventFor(
  userId: string,
  write: SyncWrite,
  previous: Partial<UserSnapshot> | null,
  origin: SyncOrigin = defaultOrigin,
  now: Date = new Date(),
): AppEvent | null {
  const base = { v: 1, userId, source: origin.source, sourceEventId: origin.sourceEventId, occurredAt: now.toISOString() };
  switch (write.kind) {
    case "insert":
      return { id: `app/user.created:${userId}`, name: "app/user.created", data: { ...base, user: publicUser(write.snapshot) } };
    case "update": {
      const changedFields = announcedFields.filter((field) => !sameValue(previous?.[field], write.snapshot[field]));
      if (changedFields.length === 0) return null;
      const version = write.snapshot.clerkUpdatedAt.getTime();
      return {
        id: `app/user.updated:${userId}:${version}`,
        name: "app/user.updated",
        data: { ...base, changedFields, user: publicUser(write.snapshot) },
      };
    }
    case "tombstone":
      return { id: `app/user.deleted:${userId}`, name: "app/user.deleted", data: base };
    case "insert-tombstone":
      return null;
  }
}
