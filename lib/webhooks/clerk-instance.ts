/**
 * Is an event from the Clerk instance this deployment syncs (CLERK_INSTANCE_ID)? The same rule on
 * both ingestion paths: our webhook endpoint (the envelope's `instance_id`) and the Inngest
 * functions (`data.instance_id`, which our endpoint and the documented "Connect to Inngest"
 * transform copy from the envelope). Pure.
 *
 * Unset: every event is accepted (nothing changes). Set: an event must name this instance; one
 * that names none is refused too, because Clerk's own "Connect to Inngest" template drops the
 * envelope, and a development instance connected to production that way is exactly the
 * misconfiguration the guard is for.
 */
export type ClerkInstanceCheck =
  | { kind: "accepted" }
  | { kind: "other-instance"; instanceId: string; expectedInstanceId: string }
  | { kind: "no-instance"; expectedInstanceId: string };

export function checkClerkInstance(expectedInstanceId: string | undefined, instanceId: unknown): ClerkInstanceCheck {
  if (!expectedInstanceId) return { kind: "accepted" };
  if (typeof instanceId !== "string" || instanceId === "") return { kind: "no-instance", expectedInstanceId };
  return instanceId === expectedInstanceId ? { kind: "accepted" } : { kind: "other-instance", instanceId, expectedInstanceId };
}

/** One line for logs and the audit trail; instance ids are not secrets. */
export function describeInstanceRefusal(check: Exclude<ClerkInstanceCheck, { kind: "accepted" }>): string {
  return check.kind === "other-instance"
    ? `from Clerk instance ${check.instanceId}, not ${check.expectedInstanceId} (CLERK_INSTANCE_ID)`
    : `names no Clerk instance, and CLERK_INSTANCE_ID is ${check.expectedInstanceId}`;
}

/** Where the Inngest event of a Clerk webhook carries the envelope's `instance_id` (see README). */
export const instanceIdField = "instance_id";
