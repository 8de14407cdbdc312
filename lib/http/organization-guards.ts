import { findMembership, hasOrgRole, hasPermission, type OrganizationAccess } from "../organizations/organization-access.js";
import { ProblemError } from "./problem.js";
import type { RouteContext } from "./route.js";

/**
 * Authorisation for organization routes, the app's own included: membership read from the
 * stored state (with the token's claims only where they are newer; see findMembership).
 * Not a member → 404, so a route never tells an outsider that an organization exists; a
 * member without the role or permission → 403.
 */
export async function requireMembership(ctx: Pick<RouteContext, "services" | "userId" | "token">, organizationId: string): Promise<OrganizationAccess> {
  const access = await findMembership(ctx.services, ctx, organizationId);
  if (!access) throw new ProblemError("notFound", { detail: "No such organization." });
  return access;
}

export async function requireOrgRole(ctx: Pick<RouteContext, "services" | "userId" | "token">, organizationId: string, roles: readonly string[]): Promise<OrganizationAccess> {
  const access = await requireMembership(ctx, organizationId);
  if (!hasOrgRole(access, roles)) throw new ProblemError("forbidden", { detail: `This needs one of the roles ${roles.join(", ")} in the organization.` });
  return access;
}

export async function requirePermission(ctx: Pick<RouteContext, "services" | "userId" | "token">, organizationId: string, permission: string): Promise<OrganizationAccess> {
  const access = await requireMembership(ctx, organizationId);
  if (!hasPermission(access, permission)) throw new ProblemError("forbidden", { detail: `This needs the permission ${permission} in the organization.` });
  return access;
}
