import type { ClerkUserDirectory } from "../clerk/clerk-user-directory.js";
import { clerkMembershipSchema, clerkOrganizationSchema } from "../clerk/organization-payload.js";
import type { Logger } from "../logger.js";
import { membershipKey } from "../organizations/membership-key.js";
import type { MembershipDocument, MembershipModel } from "../organizations/membership-model.js";
import type { MembershipEvent, MembershipOutcome, MembershipStore } from "../organizations/membership-store.js";
import type { OrganizationDocument, OrganizationModel } from "../organizations/organization-model.js";
import type { OrganizationEvent, OrganizationStore } from "../organizations/organization-store.js";
import { decide } from "../sync/decide.js";
import { decideMembership } from "../sync/decide-membership.js";
import { toMembershipSnapshot, toOrganizationSnapshot } from "../sync/to-organization-snapshot.js";
import type { SyncOrigin, SyncOutcome } from "../sync/types.js";
import type { UserModel } from "../users/user-model.js";

export interface OrganizationReconcileDeps {
  directory: ClerkUserDirectory;
  organizations: OrganizationModel;
  organizationStore: OrganizationStore;
  memberships: MembershipModel;
  membershipStore: MembershipStore;
  /** For a dry run's view of deleted users (a deleted user's membership is never created). */
  users?: UserModel;
  logger: Logger;
  now?: () => Date;
}

export interface OrganizationReconcileOptions {
  runId?: string;
  /** Decide through the same rules, write nothing, and report what would change. */
  dryRun?: boolean;
  onDrift?: (drift: OrganizationDriftItem[]) => void;
}

export interface OrganizationDriftItem {
  entity: "organization" | "membership";
  /** The organization id, or `organizationId:userId` for a membership. */
  id: string;
  change: "create" | "update" | "tombstone" | "remove";
}

/**
 * The two stores, or in a dry run their read-only twins: the same rules (lib/sync/decide.ts,
 * lib/sync/decide-membership.ts) decided on what is stored, with nothing written. Drift is
 * reported for every change either way.
 */
function writersFor(deps: OrganizationReconcileDeps, options: OrganizationReconcileOptions): Pick<OrganizationReconcileDeps, "organizationStore" | "membershipStore"> {
  const report = (item: OrganizationDriftItem) => options.onDrift?.([item]);
  const organizationChange = (outcome: SyncOutcome): OrganizationDriftItem["change"] | null =>
    outcome.kind === "created" ? "create" : outcome.kind === "updated" ? "update" : outcome.kind === "deleted" ? "tombstone" : null;
  const membershipChange = (outcome: MembershipOutcome): OrganizationDriftItem["change"] | null =>
    outcome.kind === "created" ? "create" : outcome.kind === "updated" ? "update" : outcome.kind === "removed" ? "remove" : null;
  const withDrift = <Event, Outcome>(apply: (event: Event) => Promise<Outcome>, describe: (event: Event, outcome: Outcome) => OrganizationDriftItem | null) => async (event: Event) => {
    const outcome = await apply(event);
    const item = describe(event, outcome);
    if (item) report(item);
    return outcome;
  };
  const organizationStore = options.dryRun ? dryOrganizationStore(deps) : deps.organizationStore;
  const membershipStore = options.dryRun ? dryMembershipStore(deps) : deps.membershipStore;
  return {
    organizationStore: {
      apply: withDrift(organizationStore.apply, (event: OrganizationEvent, outcome) => {
        const change = organizationChange(outcome);
        return change && { entity: "organization", id: event.organizationId, change };
      }),
    },
    membershipStore: {
      ...membershipStore,
      apply: withDrift(membershipStore.apply, (event: MembershipEvent, outcome) => {
        const change = membershipChange(outcome);
        return change && { entity: "membership", id: membershipKey(event.snapshot.organizationId, event.snapshot.userId), change };
      }),
    },
  };
}

function dryOrganizationStore(deps: OrganizationReconcileDeps): Pick<OrganizationStore, "apply"> {
  return {
    async apply(event) {
      const stored = await deps.organizations.findById(event.organizationId, { deletedAt: 1, clerkUpdatedAt: 1 }).lean<OrganizationDocument>();
      const state = stored ? (stored.deletedAt ? { kind: "tombstoned" as const, deletedAt: stored.deletedAt } : { kind: "live" as const, version: stored.clerkUpdatedAt?.getTime() ?? 0 }) : null;
      const decision = decide(state, event);
      if (decision.kind === "skip") return { kind: "skipped", reason: decision.reason };
      return { kind: decision.kind === "insert" ? "created" : decision.kind === "update" ? "updated" : "deleted" };
    },
  };
}

function dryMembershipStore(deps: OrganizationReconcileDeps): MembershipStore {
  return {
    async apply({ kind, snapshot }) {
      const [stored, organization, user] = await Promise.all([
        deps.memberships.findById(membershipKey(snapshot.organizationId, snapshot.userId)).lean<MembershipDocument>(),
        deps.organizations.findById(snapshot.organizationId, { deletedAt: 1 }).lean<{ deletedAt?: Date | null }>(),
        deps.users?.findById(snapshot.userId, { deletedAt: 1 }).lean<{ deletedAt?: Date | null }>() ?? null,
      ]);
      const version = stored && { membershipId: stored.membershipId, generation: stored.generation.getTime(), version: stored.clerkUpdatedAt.getTime() };
      const decision = decideMembership(
        version && (stored?.removedAt ? { kind: "removed", ...version } : { kind: "live", ...version }),
        { kind, membershipId: snapshot.membershipId, generation: snapshot.generation.getTime(), version: snapshot.clerkUpdatedAt.getTime() },
        { organizationDeleted: Boolean(organization?.deletedAt), userDeleted: Boolean(user?.deletedAt) },
      );
      if (decision.kind === "skip") return { kind: "skipped", reason: decision.reason };
      const removed = decision.kind === "insert-removed" || (decision.kind === "replace" && decision.removed);
      return { kind: removed ? "removed" : decision.kind === "insert" ? "created" : "updated" };
    },
    endForOrganization: () => Promise.resolve(0),
    endForUser: () => Promise.resolve(0),
  };
}

export interface OrganizationCounts {
  organizationsScanned: number;
  organizationsChanged: number;
  organizationsTombstoned: number;
  membershipsScanned: number;
  membershipsChanged: number;
  membershipsRemoved: number;
  failed: number;
}

export const emptyOrganizationCounts = (): OrganizationCounts => ({
  organizationsScanned: 0,
  organizationsChanged: 0,
  organizationsTombstoned: 0,
  membershipsScanned: 0,
  membershipsChanged: 0,
  membershipsRemoved: 0,
  failed: 0,
});

export function addOrganizationCounts(into: OrganizationCounts, from: OrganizationCounts): OrganizationCounts {
  for (const key of Object.keys(into) as (keyof OrganizationCounts)[]) into[key] += from[key];
  return into;
}

const pageSize = 100;
const membershipPageSize = 500;

/**
 * One page of Clerk's organizations (creation order), each applied through the same rules
 * as the webhooks, then its members: every membership Clerk lists is applied, and a stored
 * member Clerk no longer lists is removed, unless we wrote it after the listing began (a
 * member who joined during the scan). `next` is the offset of the following page, or `null`.
 */
export async function reconcileOrganizationsPage(
  deps: OrganizationReconcileDeps,
  offset: number,
  options: OrganizationReconcileOptions = {},
): Promise<{ counts: OrganizationCounts; next: number | null; seen: string[] }> {
  const origin: SyncOrigin = { source: "reconcile", sourceEventId: options.runId ?? null };
  const counts = emptyOrganizationCounts();
  const writers = writersFor(deps, options);
  const page = await deps.directory.listOrganizationsPage(offset, pageSize);
  for (const raw of page) {
    counts.organizationsScanned += 1;
    const parsed = clerkOrganizationSchema.safeParse(raw);
    if (!parsed.success) {
      counts.failed += 1;
      deps.logger.warn({ organizationId: (raw as { id?: unknown }).id }, "reconciliation: unusable organization payload");
      continue;
    }
    const outcome = await writers.organizationStore.apply({ kind: "upsert", organizationId: parsed.data.id, snapshot: toOrganizationSnapshot(parsed.data), origin });
    if (outcome.kind !== "skipped") counts.organizationsChanged += 1;
    addOrganizationCounts(counts, await reconcileMembers({ ...deps, ...writers }, parsed.data.id, origin));
  }
  return { counts, next: page.length < pageSize ? null : offset + page.length, seen: page.map((organization) => organization.id) };
}

async function reconcileMembers(deps: OrganizationReconcileDeps, organizationId: string, origin: SyncOrigin): Promise<OrganizationCounts> {
  const counts = emptyOrganizationCounts();
  const listedAt = deps.now?.() ?? new Date();
  const listed = new Set<string>();
  for (let offset = 0; ; offset += membershipPageSize) {
    const page = await deps.directory.listMembershipsPage(organizationId, offset, membershipPageSize);
    if (page === null) return counts; // deleted meanwhile: its own deletion ends the memberships
    for (const raw of page) {
      counts.membershipsScanned += 1;
      const parsed = clerkMembershipSchema.safeParse(raw);
      if (!parsed.success) {
        counts.failed += 1;
        continue;
      }
      const snapshot = toMembershipSnapshot(parsed.data);
      listed.add(snapshot.userId);
      const outcome = await deps.membershipStore.apply({ kind: "upsert", snapshot, at: listedAt, origin });
      if (outcome.kind !== "skipped") counts.membershipsChanged += 1;
    }
    if (page.length < membershipPageSize) break;
  }
  const stored = await deps.memberships.find({ organizationId, removedAt: null }).lean<MembershipDocument[]>();
  for (const membership of stored) {
    if (listed.has(membership.userId) || membership.updatedAt >= listedAt) continue;
    // Clerk no longer lists this member: the membership we hold was removed.
    const outcome = await deps.membershipStore.apply({
      kind: "delete",
      snapshot: {
        organizationId,
        userId: membership.userId,
        membershipId: membership.membershipId,
        generation: membership.generation,
        clerkUpdatedAt: membership.clerkUpdatedAt,
        role: membership.role ?? "",
        permissions: membership.permissions ?? [],
        publicMetadata: (membership.publicMetadata as Record<string, unknown> | undefined) ?? {},
      },
      at: listedAt,
      origin,
    });
    if (outcome.kind === "removed") counts.membershipsRemoved += 1;
  }
  return counts;
}

/**
 * Live organizations stored here that the scan did not list are only candidates (offset pages
 * shift when organizations are created or deleted during a scan): each is tombstoned, with its
 * memberships, only once Clerk answers 404 for it.
 */
export async function sweepOrganizations(deps: OrganizationReconcileDeps, seen: ReadonlySet<string>, options: OrganizationReconcileOptions = {}): Promise<OrganizationCounts> {
  const counts = emptyOrganizationCounts();
  const writers = writersFor(deps, options);
  const live = (await deps.organizations.find({ deletedAt: null }, { _id: 1 }).lean<{ _id: string }[]>()).map(({ _id }) => _id);
  // Live memberships of an organization with no live document here (its events all lost, or a
  // deletion whose cascade never finished) would keep granting access: check those too.
  const liveSet = new Set(live);
  const referenced = (await deps.memberships.distinct("organizationId", { removedAt: null })) as string[];
  const unknown = referenced.filter((organizationId) => !liveSet.has(organizationId));
  for (const organizationId of [...live, ...unknown]) {
    if (seen.has(organizationId)) continue;
    if (await deps.directory.getOrganization(organizationId)) continue;
    const outcome = await writers.organizationStore.apply({
      kind: "delete",
      organizationId,
      deletedAt: deps.now?.() ?? new Date(),
      origin: { source: "reconcile", sourceEventId: options.runId ?? null },
    });
    if (outcome.kind === "deleted") counts.organizationsTombstoned += 1;
  }
  return counts;
}

/** The whole organization reconciliation (the CLI; the Inngest job runs the same pages as steps). */
export async function runOrganizationReconciliation(deps: OrganizationReconcileDeps, options: OrganizationReconcileOptions = {}): Promise<OrganizationCounts> {
  const totals = emptyOrganizationCounts();
  const seen = new Set<string>();
  let offset: number | null = 0;
  while (offset !== null) {
    const page: Awaited<ReturnType<typeof reconcileOrganizationsPage>> = await reconcileOrganizationsPage(deps, offset, options);
    addOrganizationCounts(totals, page.counts);
    for (const id of page.seen) seen.add(id);
    offset = page.next;
  }
  return addOrganizationCounts(totals, await sweepOrganizations(deps, seen, options));
}
