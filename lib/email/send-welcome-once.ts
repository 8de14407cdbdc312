import type { UserModel } from "../users/user-model.js";
import { type Mailer, MailDeliveryError, MailDeliveryFailure } from "./mailer.js";
import { renderWelcomeEmail } from "./welcome-email.js";

export type WelcomeEmailSkipReason =
  /** Claimed before: sent, being sent by another run, or lost in a crash (never re-sent). */
  | "already-sent"
  /** Tombstoned (`deletedAt`) before the claim. */
  | "user-deleted"
  /** No such user in MongoDB. */
  | "user-unknown"
  /** The user has no email address (e.g. signed up with a phone number). */
  | "no-email"
  /** Created in Clerk longer ago than `maxSignupAgeMs`: a backfill or a late reconciliation, not a sign-up. */
  | "stale-signup";

export type WelcomeEmailResult = { kind: "sent"; messageId: string } | { kind: "skipped"; reason: WelcomeEmailSkipReason };

export interface SendWelcomeOnceDeps {
  users: UserModel;
  mailer: Mailer;
  now?: () => Date;
  /** Users created in Clerk longer ago than this get no welcome email (default 7 days). */
  maxSignupAgeMs?: number;
  productName?: string;
}

/** The send may have reached the recipient; the claim is kept so that it is never sent twice. */
export class WelcomeEmailOutcomeUnknownError extends Error {
  override readonly name = "WelcomeEmailOutcomeUnknownError";
  readonly action = "do not retry: the email may have been delivered; unset welcomeEmail.claimedAt to allow a resend";
  constructor(
    readonly userId: string,
    options: { cause: unknown },
  ) {
    super(`welcome email for ${userId}: the SMTP connection broke mid-send, it may or may not have been delivered`, options);
  }
}

const defaultMaxSignupAgeMs = 7 * 86_400_000;

/** The `Message-ID` / `X-Idempotency-Key` seed: the same for every attempt for one user. */
const welcomeIdempotencyKey = (userId: string) => `welcome:${userId}`;

type Claimed = { kind: "claimed"; claimedAt: Date; email: string; firstName: string | null };

/** Bookkeeping writes leave `updatedAt` alone: it tracks the user, not our email. */
const bookkeeping = { timestamps: false } as const;

async function claim(users: UserModel, userId: string, now: Date, maxSignupAgeMs: number): Promise<Claimed | WelcomeEmailResult> {
  const signedUpAfter = new Date(now.getTime() - maxSignupAgeMs);
  // A claim can be released (failed send) between our miss and our read: then we try again.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const claimed = await users
      .findOneAndUpdate(
        {
          _id: userId,
          deletedAt: null,
          "welcomeEmail.claimedAt": null,
          email: { $nin: [null, ""] },
          clerkCreatedAt: { $gte: signedUpAfter },
        },
        { $set: { "welcomeEmail.claimedAt": now } },
        // No projection: FerretDB does not implement `fields` on findAndModify.
        { ...bookkeeping, returnDocument: "after" },
      )
      .lean();
    if (claimed?.email) return { kind: "claimed", claimedAt: now, email: claimed.email, firstName: claimed.firstName ?? null };

    const current = await users
      .findById(userId, { deletedAt: 1, welcomeEmail: 1, email: 1, clerkCreatedAt: 1 })
      .lean();
    if (!current) return { kind: "skipped", reason: "user-unknown" };
    if (current.deletedAt) return { kind: "skipped", reason: "user-deleted" };
    if (current.welcomeEmail?.claimedAt) return { kind: "skipped", reason: "already-sent" };
    if (!current.email) return { kind: "skipped", reason: "no-email" };
    if (!current.clerkCreatedAt || current.clerkCreatedAt < signedUpAfter) return { kind: "skipped", reason: "stale-signup" };
  }
  throw new Error(`welcome email for ${userId}: the claim kept changing hands; retry later`);
}

/** Gives the claim back, unless someone else's claim replaced it or the email was marked sent. */
async function release(users: UserModel, userId: string, claimedAt: Date): Promise<void> {
  await users.updateOne(
    { _id: userId, "welcomeEmail.claimedAt": claimedAt, "welcomeEmail.sentAt": null },
    { $unset: { "welcomeEmail.claimedAt": "" } },
    bookkeeping,
  );
}

/**
 * The welcome email, at most once per user.
 *
 * 1. Claim: one atomic `findOneAndUpdate` sets `welcomeEmail.claimedAt` on a live user
 *    that has no claim yet. Of any number of concurrent or repeated runs, one wins (MongoDB
 *    applies the filter and the update atomically per document; FerretDB 1.24 does not, so
 *    there only Inngest's per-user concurrency limit keeps simultaneous runs apart).
 * 2. Send, as the winner only.
 * 3. Mark `welcomeEmail.sentAt` (`markWelcomeSent`; the Inngest function runs it as its own
 *    step, so a failed mark is retried alone and never re-sends).
 *
 * A run that dies between claim and send leaves a claim that nobody will act on: that
 * user gets no welcome email. That is the trade: at most once over at least once, because
 * a second welcome email is the failure users notice (and report), a missing one is not,
 * and an operator can re-arm a user by unsetting `welcomeEmail.claimedAt`.
 *
 * When sending fails and the server certainly did not take the message (it refused it,
 * or was never reached), the claim is released, only if it is still ours, and the error
 * rethrown so the caller retries. When the connection broke mid-send the message may
 * have been delivered: the claim stays and `WelcomeEmailOutcomeUnknownError` is thrown.
 */
export async function sendWelcomeOnce(deps: SendWelcomeOnceDeps, userId: string): Promise<WelcomeEmailResult> {
  const now = deps.now?.() ?? new Date();
  const claimed = await claim(deps.users, userId, now, deps.maxSignupAgeMs ?? defaultMaxSignupAgeMs);
  if (claimed.kind !== "claimed") return claimed;

  const email = renderWelcomeEmail({ email: claimed.email, firstName: claimed.firstName }, { productName: deps.productName });
  try {
    const { messageId } = await deps.mailer.send({ to: claimed.email, ...email, idempotencyKey: welcomeIdempotencyKey(userId) });
    return { kind: "sent", messageId };
  } catch (error) {
    if (error instanceof MailDeliveryError && error.reason === MailDeliveryFailure.NotAccepted) {
      try {
        await release(deps.users, userId, claimed.claimedAt);
      } catch (releaseError) {
        throw new AggregateError([error, releaseError], `welcome email for ${userId} not sent, and its claim could not be released`);
      }
      throw error;
    }
    // Outcome unknown (or an error we cannot place): keep the claim, never risk a second email.
    throw new WelcomeEmailOutcomeUnknownError(userId, { cause: error });
  }
}

/** Records that the claimed welcome email was accepted for delivery. Idempotent. */
export async function markWelcomeSent(users: UserModel, userId: string, sentAt: Date = new Date()): Promise<boolean> {
  const result = await users.updateOne(
    { _id: userId, "welcomeEmail.claimedAt": { $ne: null }, "welcomeEmail.sentAt": null },
    { $set: { "welcomeEmail.sentAt": sentAt } },
    bookkeeping,
  );
  return result.modifiedCount === 1;
}
