import { ProblemError } from "./problem.js";

/** A Clerk id (`user_2abc…`, `org_2abc…`): letters, digits and underscores. Anything else is never looked up. */
const userIdPattern = /^[A-Za-z0-9_]{1,128}$/;

/**
 * The `[id]` segment of `/api/users/[id]…` routes, decoded and validated, or a 400
 * `/problems/invalid-path-parameter` naming it: a malformed escape (`%ZZ`, where
 * `decodeURIComponent` throws URIError), an operator document (`{"$ne":null}`) or any
 * other text that is not a Clerk user id never reaches the database.
 *
 * `segmentFromEnd` counts from the end of the path: 1 for `/api/users/:id`, 2 for
 * `/api/users/:id/history`.
 *
 * Also returns the query without the copy of the segment Vercel adds: it routes
 * `api/users/[id].ts` as `/api/users/[id]?id=$1`, so the function sees `?id=<segment>` in
 * its URL. Only an `id` whose value is the segment itself (raw or decoded) is dropped; any
 * other `id` stays, for strict query parsing to refuse.
 */
export function userIdFromPath(url: URL, segmentFromEnd: number): { id: string; query: URLSearchParams } {
  return clerkIdFromPath(url, segmentFromEnd, "user");
}

/** The same for `/api/organizations/[id]…`: a Clerk organization id (`org_2abc…`). */
export function organizationIdFromPath(url: URL, segmentFromEnd: number): { id: string; query: URLSearchParams } {
  return clerkIdFromPath(url, segmentFromEnd, "organization");
}

function clerkIdFromPath(url: URL, segmentFromEnd: number, kind: "user" | "organization"): { id: string; query: URLSearchParams } {
  const raw = url.pathname.split("/").filter(Boolean).at(-segmentFromEnd) ?? "";
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw invalidId(kind);
  }
  if (!userIdPattern.test(id)) throw invalidId(kind);
  const query = new URLSearchParams(url.searchParams);
  for (const value of query.getAll("id")) {
    if (value === id || value === raw) query.delete("id", value);
  }
  return { id, query };
}

const invalidId = (kind: "user" | "organization") =>
  new ProblemError("invalidPathParameter", { detail: `The path does not hold a Clerk ${kind} id.`, extensions: { errors: [`id: not a Clerk ${kind} id`] } });
