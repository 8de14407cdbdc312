import { describe, expect, it } from "vitest";
import { clerkUserSchema } from "../../../lib/clerk/user-payload.js";
import { toUserSnapshot } from "../../../lib/sync/to-user-snapshot.js";
import { clerkUser } from "../../support/clerk-fixtures.js";

const map = (user: unknown) => toUserSnapshot(clerkUserSchema.parse(user));

describe("toUserSnapshot", () => {
  it("takes the primary email from primary_email_address_id, not the first address", () => {
    const user = clerkUser({ id: "user_1", updatedAt: 10, emails: ["old@example.com", "Primary@Example.com"], primaryIndex: 1 });
    const snapshot = map(user);
    expect(snapshot.email).toBe("primary@example.com");
    expect(snapshot.emailAddresses.map((address) => address.emailAddress)).toEqual(["old@example.com", "primary@example.com"]);
  });

  it("has no primary email when Clerk has none", () => {
    expect(map(clerkUser({ id: "user_1", updatedAt: 10, emails: ["a@example.com"], primaryIndex: null })).email).toBeNull();
    expect(map(clerkUser({ id: "user_1", updatedAt: 10, emails: [] })).email).toBeNull();
  });

  it("maps names, flags, metadata and Clerk's timestamps, and drops private metadata", () => {
    const user = clerkUser({
      id: "user_1",
      createdAt: 1_000,
      updatedAt: 2_000,
      firstName: "Grace",
      lastName: "Hopper",
      username: "grace",
      publicMetadata: { role: "admin" },
      banned: true,
      locked: true,
    });
    expect(map(user)).toEqual({
      email: "user_1@example.com",
      emailAddresses: [{ id: "idn_user_1_0", emailAddress: "user_1@example.com", verified: true }],
      firstName: "Grace",
      lastName: "Hopper",
      username: "grace",
      imageUrl: "https://img.clerk.com/user_1.png",
      publicMetadata: { role: "admin" },
      banned: true,
      locked: true,
      clerkCreatedAt: new Date(1_000),
      clerkUpdatedAt: new Date(2_000),
    });
  });

  it("rejects a payload without the fields the sync relies on", () => {
    const { updated_at: _dropped, ...withoutVersion } = clerkUser({ id: "user_1", updatedAt: 1 });
    expect(clerkUserSchema.safeParse(withoutVersion).success).toBe(false);
    expect(clerkUserSchema.safeParse({ ...clerkUser({ id: "user_1", updatedAt: 1 }), id: "" }).success).toBe(false);
  });
});
