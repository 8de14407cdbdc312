import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createMailer, MailDeliveryError, MailDeliveryFailure, type Mailer } from "../../../lib/email/mailer.js";
import {
  markWelcomeSent,
  sendWelcomeOnce,
  WelcomeEmailOutcomeUnknownError,
  type SendWelcomeOnceDeps,
} from "../../../lib/email/send-welcome-once.js";
import { createLogger } from "../../../lib/logger.js";
import { useTestDatabase } from "../../support/mongo.js";
import { gatedMailer, startSmtpServer, type TestSmtpServer } from "../../support/smtp-server.js";

const db = useTestDatabase();
let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(async () => {
  await smtp.stop();
});
beforeEach(() => {
  smtp.received.length = 0;
  smtp.acceptAll();
});

const day = 86_400_000;
const smtpMailer = () => createMailer({ smtpUrl: smtp.url, from: "Acme <hello@acme.test>", logger: createLogger("silent") });
const deps = (mailer: Mailer = smtpMailer()): SendWelcomeOnceDeps => ({ users: db.users(), mailer });

async function insertUser(id: string, fields: { email?: string | null; firstName?: string; createdDaysAgo?: number; deletedAt?: Date } = {}) {
  const clerkCreatedAt = new Date(Date.now() - (fields.createdDaysAgo ?? 0) * day);
  await db.users().create({
    _id: id,
    email: fields.email === undefined ? `${id}@example.com` : fields.email,
    firstName: fields.firstName ?? "Ada",
    lastName: "Lovelace",
    clerkCreatedAt,
    clerkUpdatedAt: clerkCreatedAt,
    ...(fields.deletedAt && { deletedAt: fields.deletedAt }),
  });
}
const welcomeEmailOf = async (id: string) => (await db.users().findById(id).lean())?.welcomeEmail ?? null;

describe("sendWelcomeOnce, on a real MongoDB-wire server and a real SMTP server", () => {
  it("sends to the stored address once; later calls skip it as already sent", async () => {
    await insertUser("user_1", { firstName: "Grace" });
    const before = await db.users().findById("user_1").lean();

    await expect(sendWelcomeOnce(deps(), "user_1")).resolves.toEqual({ kind: "sent", messageId: "<welcome.user_1@acme.test>" });
    await expect(sendWelcomeOnce(deps(), "user_1")).resolves.toEqual({ kind: "skipped", reason: "already-sent" });

    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatchObject({ envelope: { to: ["user_1@example.com"] }, subject: "Welcome, Grace!" });
    expect(smtp.received[0]?.headers["x-idempotency-key"]).toBe("welcome:user_1");
    const after = await db.users().findById("user_1").lean();
    expect(after?.welcomeEmail?.claimedAt).toBeInstanceOf(Date);
    expect(after?.welcomeEmail?.sentAt ?? null).toBeNull();
    // Bookkeeping, not a change to the user.
    expect(after?.updatedAt).toEqual(before?.updatedAt);
  });

  it("marks the email sent once, and only a claimed one", async () => {
    await insertUser("user_1");
    await insertUser("user_unclaimed");
    await sendWelcomeOnce(deps(), "user_1");
    const sentAt = new Date(Date.now() - 1_000);
    await expect(markWelcomeSent(db.users(), "user_1", sentAt)).resolves.toBe(true);
    await expect(markWelcomeSent(db.users(), "user_1")).resolves.toBe(false);
    expect((await welcomeEmailOf("user_1"))?.sentAt).toEqual(sentAt);
    await expect(markWelcomeSent(db.users(), "user_unclaimed")).resolves.toBe(false);
    expect((await welcomeEmailOf("user_unclaimed"))?.sentAt ?? null).toBeNull();
  });

  it("a call while another is still sending skips: the first claim wins", async () => {
    await insertUser("user_1");
    const gate = gatedMailer(smtpMailer());
    const first = sendWelcomeOnce(deps(gate.mailer), "user_1");
    try {
      await gate.entered;
      await expect(sendWelcomeOnce(deps(), "user_1")).resolves.toEqual({ kind: "skipped", reason: "already-sent" });
    } finally {
      gate.open();
    }
    await expect(first).resolves.toMatchObject({ kind: "sent" });
    expect(smtp.received).toHaveLength(1);
  });

  it("sends one email when many calls for one user race", async () => {
    // MongoDB applies findOneAndUpdate's filter and update atomically per document. FerretDB 1.24 as
    // released read and wrote back (several simultaneous claims could all win: seen 4 of 8);
    // ../shared/tools/ferretdb.sh builds it with a write lock, so this runs on every server.
    await insertUser("user_1");
    const results = await Promise.all(Array.from({ length: 8 }, () => sendWelcomeOnce(deps(), "user_1")));
    expect(results.filter((result) => result.kind === "sent")).toHaveLength(1);
    expect(results.filter((result) => result.kind === "skipped" && result.reason === "already-sent")).toHaveLength(7);
    expect(smtp.received).toHaveLength(1);
  });

  it("never writes to a user tombstoned before the claim, and says why", async () => {
    await insertUser("user_deleted", { deletedAt: new Date() });
    const before = await db.users().findById("user_deleted").lean();
    await expect(sendWelcomeOnce(deps(), "user_deleted")).resolves.toEqual({ kind: "skipped", reason: "user-deleted" });
    expect(await db.users().findById("user_deleted").lean()).toEqual(before);
    expect(before?.welcomeEmail?.claimedAt ?? null).toBeNull();
    expect(smtp.received).toHaveLength(0);
  });

  it("skips an unknown user, a user without an address and a user who signed up long ago (a backfill)", async () => {
    await insertUser("user_phone_only", { email: null });
    await insertUser("user_old", { createdDaysAgo: 30 });
    await insertUser("user_recent", { createdDaysAgo: 6 });
    await expect(sendWelcomeOnce(deps(), "user_nobody")).resolves.toEqual({ kind: "skipped", reason: "user-unknown" });
    await expect(sendWelcomeOnce(deps(), "user_phone_only")).resolves.toEqual({ kind: "skipped", reason: "no-email" });
    await expect(sendWelcomeOnce(deps(), "user_old")).resolves.toEqual({ kind: "skipped", reason: "stale-signup" });
    await expect(sendWelcomeOnce(deps(), "user_recent")).resolves.toMatchObject({ kind: "sent" });
    expect(smtp.received.map((email) => email.envelope.to)).toEqual([["user_recent@example.com"]]);
    expect(await db.users().countDocuments({ "welcomeEmail.claimedAt": { $ne: null } })).toBe(1);
  });

  it("releases the claim when the server refuses the message, so a retry sends it exactly once", async () => {
    await insertUser("user_1");
    smtp.rejectRecipients(451);
    const refused = await sendWelcomeOnce(deps(), "user_1").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MailDeliveryError);
    expect((await welcomeEmailOf("user_1"))?.claimedAt ?? null).toBeNull();

    smtp.acceptAll();
    await expect(sendWelcomeOnce(deps(), "user_1")).resolves.toMatchObject({ kind: "sent" });
    await expect(sendWelcomeOnce(deps(), "user_1")).resolves.toEqual({ kind: "skipped", reason: "already-sent" });
    expect(smtp.received).toHaveLength(1);
  });

  it("keeps the claim when the connection broke after the message was handed over: never a second email", async () => {
    await insertUser("user_1");
    smtp.dropAfterData();
    const lost = await sendWelcomeOnce(deps(), "user_1").catch((error: unknown) => error);
    expect(lost).toBeInstanceOf(WelcomeEmailOutcomeUnknownError);
    expect((await welcomeEmailOf("user_1"))?.claimedAt).toBeInstanceOf(Date);

    smtp.acceptAll();
    await expect(sendWelcomeOnce(deps(), "user_1")).resolves.toEqual({ kind: "skipped", reason: "already-sent" });
    // It did arrive, once.
    expect(smtp.received).toHaveLength(1);
  });

  it("a failed send releases only its own claim, never one taken over since", async () => {
    await insertUser("user_1");
    const theirs = new Date(Date.now() + 60_000);
    const interleaved: Mailer = {
      async send() {
        // Meanwhile an operator re-armed the user and another run claimed it.
        await db.users().updateOne({ _id: "user_1" }, { $set: { "welcomeEmail.claimedAt": theirs } });
        throw new MailDeliveryError(MailDeliveryFailure.NotAccepted, false, "refused", { cause: null });
      },
    };
    await expect(sendWelcomeOnce(deps(interleaved), "user_1")).rejects.toBeInstanceOf(MailDeliveryError);
    expect((await welcomeEmailOf("user_1"))?.claimedAt).toEqual(theirs);
  });
});
