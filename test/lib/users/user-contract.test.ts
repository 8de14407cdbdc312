import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { ApiClient, UserExport as ClientUserExport, UserView as ClientUserView } from "../../../client/api-client.js";
import { appUserCreated, appUserUpdated } from "../../../inngest/events.js";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { defineFields, fieldsFrom, fieldsIn, type FieldsFrom, type FieldsIn, purgedPaths, type StoredPaths, storedPaths } from "../../../lib/contract/field-table.js";
import { openApiDocument } from "../../../lib/http/openapi.js";
import { appEventFor } from "../../../lib/sync/app-event-for.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import type { UserSnapshot } from "../../../lib/sync/types.js";
import { profilePatchSchema, profileSchema } from "../../../lib/users/profile-schemas.js";
import { type UserFields, userFields } from "../../../lib/users/user-contract.js";
import { toUserExport, userExportSchema } from "../../../lib/users/user-export.js";
import { type UserDocument, userSchema } from "../../../lib/users/user-model.js";
import { toUserView, userViewSchema } from "../../../lib/users/user-view.js";
import { clerkUser } from "../../support/clerk-fixtures.js";

/**
 * The user contract (lib/users/user-contract.ts) against every place that states the user's
 * fields on its own: the Mongoose schema, Clerk's payload schema, and, though derived today,
 * the mapping, the view, the export, the app events, the OpenAPI document and the client's
 * types. A place edited alone fails here (or in `tsc` for the type checks below).
 */

const sorted = (names: Iterable<string>) => [...names].sort();
const topLevel = (paths: Iterable<string>) => [...new Set([...paths].map((path) => path.split(".")[0] as string))];

/** The nested paths of a zod object (optional and nullable unwrapped), e.g. `preferences.theme`. */
function zodPaths(schema: z.ZodType, prefix = ""): string[] {
  let inner = schema as z.ZodType & { unwrap?: () => z.ZodType; shape?: Record<string, z.ZodType> };
  while (inner.unwrap && !inner.shape) inner = inner.unwrap() as typeof inner;
  if (!inner.shape) return [prefix];
  return Object.entries(inner.shape).flatMap(([key, value]) => zodPaths(value, prefix ? `${prefix}.${key}` : key));
}

/**
 * Two Clerk payloads that differ in every field the contract maps, none of them null (so each
 * one's stored type shows): extend both with the field you add.
 */
const snapshot = toUserSnapshot(
  clerkUserSchema.parse(clerkUser({ id: "user_1", createdAt: 1_000, updatedAt: 2_000, username: "ada", publicMetadata: { plan: "pro" } })),
);
const everythingChanged = toUserSnapshot(
  clerkUserSchema.parse({
    ...clerkUser({ id: "user_1", createdAt: 1, updatedAt: 3_000, firstName: "Augusta", lastName: "King", username: "augusta", emails: ["other@example.com"], publicMetadata: { plan: "free" }, banned: true, locked: true }),
    image_url: "https://img.clerk.com/other.png",
  }),
);

/** A stored user with every stored field set: extend it with the field you add. */
const fullDocument: UserDocument = {
  _id: "user_1",
  ...snapshot,
  profile: { displayName: "Ada", bio: "Countess", preferences: { theme: "dark", locale: "en-GB", emailNotifications: true } },
  deletedAt: null,
  purgedAt: null,
  lastSeenAt: new Date(3_000),
  lastSignInAt: new Date(4_000),
  lastActiveAt: new Date(5_000),
  outbox: [{ id: "app/user.created:user_1", name: "app/user.created", data: {} }],
  welcomeEmail: { claimedAt: new Date(6_000), sentAt: new Date(7_000) },
  createdAt: new Date(8_000),
  updatedAt: new Date(9_000),
} as UserDocument;

const openApi = openApiDocument() as {
  components: { schemas: Record<string, { properties?: Record<string, { properties?: Record<string, unknown>; required?: string[] }>; required?: string[] }> };
};

describe("the user contract is the one list of a user's fields", () => {
  it("the Mongoose schema stores exactly the contract's stored fields", () => {
    expect(sorted(topLevel(Object.keys(userSchema.paths)))).toEqual(sorted(storedPaths(userFields)));
    expect(sorted(Object.keys(fullDocument))).toEqual(sorted(storedPaths(userFields)));
    expectTypeOf<keyof UserDocument>().toEqualTypeOf<StoredPaths<UserFields>>();
  });

  it("stores each Clerk field with the Mongoose type of its mapped value", () => {
    const instanceOf = (value: unknown) =>
      value instanceof Date ? "Date" : Array.isArray(value) ? "Array" : typeof value === "string" ? "String" : typeof value === "boolean" ? "Boolean" : "Mixed";
    for (const name of fieldsFrom(userFields, "clerk")) {
      expect(userSchema.path(name)?.instance, name).toBe(instanceOf(snapshot[name]));
    }
    const addressPaths = Object.keys((userSchema.path("emailAddresses") as unknown as { schema: { paths: object } }).schema.paths);
    expect(sorted(addressPaths)).toEqual(sorted(zodPaths(userFields.emailAddresses.json.element)));
  });

  it("maps every field Clerk's payload schema validates, and validates every key a mapping reads", () => {
    const mapped = new Set(Object.values(userFields).flatMap((spec) => ("clerk" in spec ? spec.clerk : [])));
    const validated = Object.keys(clerkUserSchema.shape).filter((key) => key !== "id" && key !== "object");
    expect(sorted(validated)).toEqual(sorted(mapped));
  });

  it("the snapshot the sync stores is exactly the fields taken from Clerk", () => {
    expect(Object.keys(snapshot)).toEqual(fieldsFrom(userFields, "clerk"));
    for (const name of fieldsFrom(userFields, "clerk")) {
      expect(snapshot[name], `${name} in the first test payload`).not.toBeNull();
      expect(everythingChanged[name], `${name} differs between the test payloads`).not.toEqual(snapshot[name]);
    }
    expectTypeOf<keyof UserSnapshot>().toEqualTypeOf<FieldsFrom<UserFields, "clerk">>();
  });

  it("the API view, its OpenAPI schema and the client's type show exactly the view fields", () => {
    const view = toUserView(fullDocument);
    expect(Object.keys(view)).toEqual(fieldsIn(userFields, "view"));
    expect(userViewSchema.strict().parse(view)).toEqual(view);
    const tombstone = { _id: "user_2", deletedAt: new Date(1), createdAt: new Date(1), updatedAt: new Date(1) } as UserDocument;
    expect(userViewSchema.strict().parse(toUserView(tombstone))).toMatchObject({ id: "user_2", deleted: true, email: null });

    const user = openApi.components.schemas.User;
    expect(Object.keys(user?.properties ?? {})).toEqual(fieldsIn(userFields, "view"));
    expect(user?.required).toEqual(fieldsIn(userFields, "view"));

    expectTypeOf<keyof ClientUserView>().toEqualTypeOf<FieldsIn<UserFields, "view">>();
    expectTypeOf<ClientUserView>().toEqualTypeOf<z.output<typeof userViewSchema>>();
    expectTypeOf<ReturnType<ApiClient["getMe"]>>().toEqualTypeOf<Promise<ClientUserView>>();
  });

  it("the export, its OpenAPI schema and the client's type hold exactly the export fields", () => {
    const exported = toUserExport(fullDocument, [], new Date(10_000));
    expect(Object.keys(exported.user)).toEqual(fieldsIn(userFields, "export"));
    expect(userExportSchema.parse(exported)).toEqual(exported);
    const user = openApi.components.schemas.UserExport?.properties?.user;
    expect(Object.keys(user?.properties ?? {})).toEqual(fieldsIn(userFields, "export"));
    expect(user?.required).toEqual(fieldsIn(userFields, "export"));
    expectTypeOf<keyof ClientUserExport["user"]>().toEqualTypeOf<FieldsIn<UserFields, "export">>();
  });

  it("app events carry exactly the appEvent fields and announce a change of exactly the changedFields", () => {
    const created = appEventFor("user_1", { kind: "insert", snapshot }, null);
    expect(Object.keys(created?.data.user as object)).toEqual(fieldsIn(userFields, "appEvent"));
    expect(Object.keys(appUserCreated.schema.shape.user.shape)).toEqual(fieldsIn(userFields, "appEvent"));
    expect(Object.keys(appUserUpdated.schema.shape.user.shape)).toEqual(fieldsIn(userFields, "appEvent"));
    expect(appUserCreated.schema.parse(created?.data)).toEqual(created?.data);
    expectTypeOf<keyof z.output<typeof appUserCreated.schema>["user"]>().toEqualTypeOf<FieldsIn<UserFields, "appEvent">>();

    const updated = appEventFor("user_1", { kind: "update", snapshot: everythingChanged, expectedVersion: 2_000 }, snapshot);
    expect(updated?.data.changedFields).toEqual(fieldsIn(userFields, "changedFields"));
    expect(appUserUpdated.schema.parse(updated?.data)).toEqual(updated?.data);
  });

  it("the retention purge erases every stored field but the minimal tombstone", () => {
    const kept = ["_id", "deletedAt", "purgedAt", "createdAt", "updatedAt"];
    expect(sorted(purgedPaths(userFields))).toEqual(sorted(storedPaths(userFields).filter((path) => !kept.includes(path))));
  });

  it("the profile, the only app-owned field, is edited, shown and stored with the same fields", () => {
    const stored = Object.keys((userSchema.path("profile") as unknown as { schema: { paths: object } }).schema.paths);
    expect(sorted(zodPaths(profileSchema))).toEqual(sorted(stored));
    expect(sorted(zodPaths(profilePatchSchema))).toEqual(sorted(stored));
    expect(fieldsFrom(userFields, "app")).toEqual(["profile"]);
  });

  it("refuses a field declared half-way, naming it", () => {
    expect(() => defineFields<{ nickname: string }, object>()({ nickname: { source: "clerk", in: ["view", "appEvent"] } })).toThrow(
      /nickname: a field has fromClerk exactly when its source is "clerk"[\s\S]*nickname: a field in the view or the export needs json and toJson/,
    );
    expect(() => defineFields<object, object>()({ lastSeenAt: { source: "sync", in: ["changedFields"] } })).toThrow(/lastSeenAt: app events are built from Clerk's snapshot/);
  });
});
