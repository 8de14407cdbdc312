import { Middleware, NonRetriableError } from "inngest";
import type { AuditEntity, AuditLog, AuditRecordInput } from "../../lib/audit/audit-log.js";
import type { Logger } from "../../lib/logger.js";
import { membershipKey } from "../../lib/organizations/membership-key.js";
import { type ClerkInstanceCheck, checkClerkInstance, describeInstanceRefusal, instanceIdField } from "../../lib/webhooks/clerk-instance.js";

export interface ClerkInstanceGuardOptions {
  /** CLERK_INSTANCE_ID. */
  expectedInstanceId: string;
  /** Where refused events are recorded (`decision: "rejected"`). */
  audit: () => Promise<Pick<AuditLog, "record">>;
  logger: Logger;
}

interface ClerkEvent {
  name: string;
  id?: string;
  data?: Record<string, unknown>;
}

type Refused = { event: ClerkEvent; check: Exclude<ClerkInstanceCheck, { kind: "accepted" }> };

/** Clerk's events keep Clerk's names under `clerk/` (inngest/events.ts), from either delivery path. */
const isClerkEvent = (event: ClerkEvent): boolean => typeof event.name === "string" && event.name.startsWith("clerk/");

/**
 * The wrong-instance guard for every Clerk-triggered function (users, sessions, organizations,
 * memberships), in one place: an Inngest middleware on the client, so no function can forget it
 * and a new one is covered by being triggered by a `clerk/*` event.
 *
 * Each `clerk/*` event must name CLERK_INSTANCE_ID in `data.instance_id` (our webhook endpoint
 * and the documented "Connect to Inngest" transform copy it from Clerk's envelope). The others are
 * taken out of the run before the handler sees them (a batch keeps its events from the right
 * instance), logged at error level and audited as `rejected` once per run (a step), and the run
 * then fails with a NonRetriableError: a misconfiguration does not get better with retries, and a
 * failed run is what Inngest's dashboard shows an operator. A run with nothing left is not run.
 * It runs before the SDK validates payloads, so a refused event is never mistaken for a bad one.
 */
export function clerkInstanceGuard({ expectedInstanceId, audit, logger }: ClerkInstanceGuardOptions): Middleware.Class {
  return class ClerkInstanceGuard extends Middleware.BaseMiddleware {
    readonly id = "clerk-instance-guard";
    /** This request's refused events and how many remain (the SDK makes one instance per request). */
    private refused: Refused[] = [];
    private kept = 0;

    override transformFunctionInput(arg: Middleware.TransformFunctionInputArgs): Middleware.TransformFunctionInputArgs {
      const events = arg.ctx.events as readonly ClerkEvent[];
      const kept: ClerkEvent[] = [];
      for (const event of events) {
        const check = isClerkEvent(event) ? checkClerkInstance(expectedInstanceId, event.data?.[instanceIdField]) : ({ kind: "accepted" } as const);
        if (check.kind === "accepted") kept.push(event);
        else this.refused.push({ event, check });
      }
      this.kept = kept.length;
      if (this.refused.length === 0 || kept.length === 0) return arg;
      return { ...arg, ctx: { ...arg.ctx, event: kept[0], events: kept } as typeof arg.ctx };
    }

    override async wrapFunctionHandler({ ctx, fn, next }: Middleware.WrapFunctionHandlerArgs): Promise<unknown> {
      if (this.refused.length === 0) return next();
      const refused = this.refused;
      const summary = `${refused.length} Clerk event(s) refused: ${describeInstanceRefusal(refused[0]!.check)}`;
      await ctx.step.run("refuse-other-clerk-instance", async () => {
        logger.error(
          {
            functionId: fn.id(),
            expectedInstanceId,
            refused: refused.map(({ event, check }) => ({ name: event.name, eventId: event.id ?? null, instanceId: check.kind === "other-instance" ? check.instanceId : null })),
          },
          "Clerk events from another instance refused; check CLERK_INSTANCE_ID and the Clerk webhook or Inngest transform feeding this environment",
        );
        await (await audit()).record(refused.map(auditRecordFor));
        return { refused: refused.length };
      });
      if (this.kept === 0) throw new NonRetriableError(summary);
      await next();
      // The events from the right instance are applied; the run still fails, as for a bad payload.
      throw new NonRetriableError(summary);
    }
  };
}

/** What the audit trail keeps of a refused event: the record it was about, as the stores name it. */
function auditRecordFor({ event, check }: Refused): AuditRecordInput {
  const { entity, id } = subjectOf(event);
  return { entity, userId: id, source: "webhook", sourceEventId: event.id ?? null, decision: "rejected", change: null, detail: `wrong Clerk instance: ${describeInstanceRefusal(check)}`.slice(0, 500) };
}

function subjectOf(event: ClerkEvent): { entity: AuditEntity; id: string } {
  const data = event.data ?? {};
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : "unknown");
  const type = event.name.slice("clerk/".length);
  if (type.startsWith("organizationMembership.")) {
    const organization = data.organization as { id?: unknown } | undefined;
    const member = data.public_user_data as { user_id?: unknown } | undefined;
    return { entity: "membership", id: membershipKey(text(organization?.id), text(member?.user_id)) };
  }
  if (type.startsWith("organization.")) return { entity: "organization", id: text(data.id) };
  if (type.startsWith("session.")) return { entity: "user", id: text(data.user_id) };
  return { entity: "user", id: text(data.id) };
}
