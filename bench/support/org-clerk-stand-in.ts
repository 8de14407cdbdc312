import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { OrganizationJSON, OrganizationMembershipJSON } from "@clerk/backend";

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

  const notFound = (what: string) => JSON.stringify({ errors: [{ message: "not found", long_message: `${what} not found`, code: "resource_not_found" }], clerk_trace_id: "trace_bench" });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const reply = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      return reply(401, JSON.stringify({ errors: [{ message: "Unauthorized", long_message: "Invalid secret key", code: "authentication_invalid" }] }));
    }
    if (req.method !== "GET") return reply(405, JSON.stringify({ errors: [{ message: "method not allowed", code: "method_not_allowed" }] }));
    const page = (texts: readonly string[]) => {
      const limit = Number(url.searchParams.get("limit") ?? 10);
      const offset = Number(url.searchParams.get("offset") ?? 0);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500 || !Number.isInteger(offset) || offset < 0) {
        return reply(422, JSON.stringify({ errors: [{ message: "invalid limit or offset", code: "form_param_value_invalid" }] }));
      }
      reply(200, `{"data":[${texts.slice(offset, offset + limit).join(",")}],"total_count":${texts.length}}`);
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
      if (!organization) return reply(404, notFound(`Organization ${id}`));
      return match[2] ? page(memberJson.get(id) ?? []) : reply(200, organization);
    }
    reply(404, notFound("route"));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
