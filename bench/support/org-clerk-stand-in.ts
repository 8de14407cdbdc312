import type { OrganizationJSON, OrganizationMembershipJSON } from "@clerk/backend";
import { serveClerkApi } from "./clerk-api-server.js";

/**
 * Clerk's Backend API organization endpoints at their HTTP boundary, on 127.0.0.1, for
 * bench/organizations.ts (bench/support/clerk-stand-in.ts serves the users). Loaded once with
 * Clerk's end state; each answer is a slice of JSON texts prepared at load, so the stand-in's
 * own cost stays small next to the reconciliation it serves.
 *
 * - `GET /v1/organizations?limit=1..500&offset`: `{ data, total_count }`, oldest first.
 * - `GET /v1/organizations/:id`: the organization, or 404 `{ errors: [{ code: "resource_not_found" }] }`.
 * - `GET /v1/organizations/:id/memberships?limit=1..500&offset`: `{ data, total_count }`, oldest
 *   first; 404 for an organization Clerk does not have.
 * - Bearer secret key required (401 otherwise).
 */
export interface OrganizationStandIn {
  url: string;
  readonly requests: { organizations: number; organization: number; memberships: number };
  close(): Promise<void>;
}

export async function startOrganizationStandIn(
  secretKey: string,
  organizations: readonly OrganizationJSON[],
  memberships: readonly OrganizationMembershipJSON[],
): Promise<OrganizationStandIn> {
  const byCreation = <T extends { created_at: number; id: string }>(items: T[]) => items.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const organizationJson = byCreation([...organizations]).map((organization) => ({ id: organization.id, text: JSON.stringify(organization) }));
  const organizationTexts = organizationJson.map((entry) => entry.text);
  const organizationById = new Map(organizationJson.map((entry) => [entry.id, entry.text]));
  const membersOf = new Map<string, OrganizationMembershipJSON[]>();
  for (const membership of memberships) {
    const list = membersOf.get(membership.organization.id) ?? [];
    list.push(membership);
    membersOf.set(membership.organization.id, list);
  }
  const memberJson = new Map([...membersOf].map(([id, list]) => [id, byCreation(list).map((membership) => JSON.stringify(membership))]));
  const requests = { organizations: 0, organization: 0, memberships: 0 };

  const server = await serveClerkApi(secretKey, ({ url, reply, notFound, pageParams }) => {
    const page = (texts: readonly string[]) => {
      const params = pageParams();
      if (params) reply(200, `{"data":[${texts.slice(params.offset, params.offset + params.limit).join(",")}],"total_count":${texts.length}}`);
    };

    if (url.pathname === "/v1/organizations") {
      requests.organizations += 1;
      return page(organizationTexts);
    }
    const match = /^\/v1\/organizations\/([^/]+)(\/memberships)?$/.exec(url.pathname);
    if (match) {
      const id = decodeURIComponent(match[1] ?? "");
      const organization = organizationById.get(id);
      if (match[2]) requests.memberships += 1;
      else requests.organization += 1;
      if (!organization) return notFound(`Organization ${id}`);
      return match[2] ? page(memberJson.get(id) ?? []) : reply(200, organization);
    }
    notFound("route");
  });
  return { url: server.url, requests, close: server.close };
}
