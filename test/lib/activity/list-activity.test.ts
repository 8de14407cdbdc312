import { describe, expect, it } from "vitest";
import {
  buildActivityFilter,
  decodeActivityCursor,
  encodeActivityCursor,
  listActivityQuerySchema,
  toActivityView,
} from "../../../lib/activity/list-activity.js";

describe("the activity cursor", () => {
  it("round-trips the last record's time and id, and is URL-safe", () => {
    const cursor = encodeActivityCursor({ at: 1_700_000_000_123, id: "sess_2abc:signed_in" });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeActivityCursor(cursor)).toEqual({ at: 1_700_000_000_123, id: "sess_2abc:signed_in" });
  });

  it.each([
    ["not base64 JSON", "bm90IGpzb24"],
    ["JSON of the wrong shape", Buffer.from(JSON.stringify({ userId: "user_b" })).toString("base64url")],
    ["a negative time", Buffer.from(JSON.stringify([-1, "x"])).toString("base64url")],
    ["an empty id", Buffer.from(JSON.stringify([1, ""])).toString("base64url")],
  ])("decodes %s to null", (_, text) => {
    expect(decodeActivityCursor(text)).toBeNull();
  });
});

describe("GET /api/me/activity query schema", () => {
  it("defaults limit to 20 and decodes a cursor", () => {
    expect(listActivityQuerySchema.parse({})).toEqual({ limit: 20 });
    const cursor = encodeActivityCursor({ at: 5, id: "s:ended" });
    expect(listActivityQuerySchema.parse({ limit: "3", cursor })).toEqual({ limit: 3, cursor: { at: 5, id: "s:ended" } });
  });

  it.each([
    ["an unknown parameter", { userId: "user_b" }],
    ["limit 0", { limit: "0" }],
    ["limit 101", { limit: "101" }],
    ["a non-numeric limit", { limit: "ten" }],
    ["a cursor with other characters", { cursor: "abc$def" }],
    ["a cursor this API did not issue", { cursor: "bm90IGpzb24" }],
  ])("refuses %s", (_, query) => {
    expect(listActivityQuerySchema.safeParse(query).success).toBe(false);
  });
});

describe("buildActivityFilter", () => {
  it("always filters by the caller's user id, with or without a cursor", () => {
    expect(buildActivityFilter("user_a", undefined)).toEqual({ userId: "user_a" });
    expect(buildActivityFilter("user_a", { at: 9, id: "s:ended" })).toEqual({
      userId: "user_a",
      $or: [{ at: { $lt: new Date(9) } }, { at: new Date(9), _id: { $lt: "s:ended" } }],
    });
  });
});

describe("toActivityView", () => {
  it("shows only the public fields, with the time as ISO 8601", () => {
    const view = toActivityView({
      _id: "s:signed_in",
      userId: "user_a",
      kind: "signed_in",
      sessionId: "s",
      at: new Date(1_000),
      clientIp: "203.0.113.7",
      userAgent: "UA",
      createdAt: new Date(2_000),
    });
    expect(view).toEqual({ kind: "signed_in", sessionId: "s", at: "1970-01-01T00:00:01.000Z", clientIp: "203.0.113.7", userAgent: "UA" });
  });
});
