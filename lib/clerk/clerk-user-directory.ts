import type { OrganizationJSON, OrganizationMembershipJSON, UserJSON } from "@clerk/backend";
import { setTimeout as sleep } from "node:timers/promises";
import { ClerkUnavailableError } from "./clerk-users-api.js";

/**
 * Clerk's Backend API user (and organization) listing, for reconciliation, called directly: one request a
 * page (`getUserList` in the SDK also calls `/users/count`), `limit` at most 500,
 * paced to stay well under the instance's rate limit, and patient on 429 (`Retry-After`).
 */
export interface ClerkUserDirectory {
  /** Users in creation order (oldest first), so users created during a scan land at the end. */
  listPage(offset: number, limit: number): Promise<UserJSON[]>;
  /** The users among `ids` that exist (at most 100 ids a call). */
  findExisting(ids: readonly string[]): Promise<UserJSON[]>;
  /** How many users the instance has (for progress reporting). */
  count(): Promise<number>;
  /** One user, or `null` when Clerk answers 404. */
  getUser(id: string): Promise<UserJSON | null>;
  /** Organizations in creation order (oldest first); Clerk answers `{ data, total_count }`. */
  listOrganizationsPage(offset: number, limit: number): Promise<OrganizationJSON[]>;
  /** One organization, or `null` when Clerk answers 404. */
  getOrganization(id: string): Promise<OrganizationJSON | null>;
  /** A page of one organization's memberships (`null` when the organization is gone: 404). */
  listMembershipsPage(organizationId: string, offset: number, limit: number): Promise<OrganizationMembershipJSON[] | null>;
  /** Requests sent so far (for reports and benchmarks). */
  readonly requests: number;
}

export interface ClerkUserDirectoryOptions {
  apiUrl: string;
  secretKey: string;
  /** Our own budget; Clerk allows 1,000 per 10 s in production, 100 in development. */
  maxRequestsPer10Seconds: number;
  fetch?: typeof fetch;
}

export const maxPageSize = 500;
const maxIdsPerLookup = 100;
const maxAttempts = 6;

export function createClerkUserDirectory(options: ClerkUserDirectoryOptions): ClerkUserDirectory {
  const doFetch = options.fetch ?? fetch;
  const minGapMs = 10_000 / options.maxRequestsPer10Seconds;
  let nextSlot = 0;
  let requests = 0;

  async function pace(): Promise<void> {
    const now = Date.now();
    const wait = nextSlot - now;
    nextSlot = Math.max(now, nextSlot) + minGapMs;
    if (wait > 0) await sleep(wait);
  }

  async function get<T>(path: string, notFound?: T): Promise<T> {
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      await pace();
      requests += 1;
      let response: Response;
      try {
        response = await doFetch(new URL(path, options.apiUrl), {
          headers: { authorization: `Bearer ${options.secretKey}`, accept: "application/json" },
          signal: AbortSignal.timeout(15_000),
        });
      } catch (error) {
        if (attempt === maxAttempts) throw new ClerkUnavailableError(`Clerk ${path}: ${String(error)}`, { cause: error });
        await sleep(250 * 2 ** attempt);
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      if (response.status === 404 && notFound !== undefined) return notFound;
      if (response.status === 429 || response.status >= 500) {
        const retryAfterSeconds = Number(response.headers.get("retry-after"));
        await response.body?.cancel();
        if (attempt === maxAttempts) break;
        await sleep(Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? retryAfterSeconds * 1_000 : 250 * 2 ** attempt);
        continue;
      }
      await response.body?.cancel();
      throw new ClerkUnavailableError(`Clerk ${path.split("?")[0]} answered HTTP ${response.status}`);
    }
    throw new ClerkUnavailableError(`Clerk ${path.split("?")[0]} kept failing after ${maxAttempts} attempts`);
  }

  return {
    get requests() {
      return requests;
    },
    listPage(offset, limit) {
      const query = new URLSearchParams({ limit: String(Math.min(limit, maxPageSize)), offset: String(offset), order_by: "+created_at" });
      return get<UserJSON[]>(`/v1/users?${query}`);
    },
    findExisting(ids) {
      if (ids.length > maxIdsPerLookup) throw new RangeError(`at most ${maxIdsPerLookup} ids per lookup`);
      if (ids.length === 0) return Promise.resolve([]);
      const query = new URLSearchParams([["limit", String(maxIdsPerLookup)], ...ids.map((id): [string, string] => ["user_id", id])]);
      return get<UserJSON[]>(`/v1/users?${query}`);
    },
    async count() {
      return (await get<{ total_count: number }>("/v1/users/count")).total_count;
    },
    getUser(id) {
      return get<UserJSON | null>(`/v1/users/${encodeURIComponent(id)}`, null);
    },
    async listOrganizationsPage(offset, limit) {
      const query = new URLSearchParams({ limit: String(Math.min(limit, maxPageSize)), offset: String(offset), order_by: "+created_at" });
      return (await get<{ data: OrganizationJSON[] }>(`/v1/organizations?${query}`)).data;
    },
    getOrganization(id) {
      return get<OrganizationJSON | null>(`/v1/organizations/${encodeURIComponent(id)}`, null);
    },
    async listMembershipsPage(organizationId, offset, limit) {
      const query = new URLSearchParams({ limit: String(Math.min(limit, maxPageSize)), offset: String(offset), order_by: "+created_at" });
      const page = await get<{ data: OrganizationMembershipJSON[] } | null>(`/v1/organizations/${encodeURIComponent(organizationId)}/memberships?${query}`, null);
      return page?.data ?? null;
    },
  };
}
