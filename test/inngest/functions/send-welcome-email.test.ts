import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInngestClient } from "../../../inngest/client.js";
import { createSendWelcomeEmail } from "../../../inngest/functions/send-welcome-email.js";
import { createMailer, type Mailer } from "../../../lib/email/mailer.js";
import { createLogger } from "../../../lib/logger.js";
import type { UserModel } from "../../../lib/users/user-model.js";
import { testInngestConfig } from "../../support/inngest.js";
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

const from = "Acme <hello@acme.test>";
const inngest = createInngestClient(testInngestConfig, createLogger("silent"));
/** What the function's deps resolve to; each test may swap them. */
let current: { users: () => UserModel; mailer: Mailer };
beforeEach(async () => {
  smtp.received.length = 0;
  smtp.acceptAll();
  await smtp.start();
  current = { users: () => db.users(), mailer: createMailer({ smtpUrl: smtp.url, from, logger: createLogger("silent") }) };
});
const fn = createSendWelcomeEmail(inngest, { users: async () => current.users(), mailer: async () => current.mailer });

function userCreated(userId: string, eventId: string, firstName: string | null = "Ada") {
  return {
    name: "app/user.created",
    id: eventId,
    data: {
      v: 1,
      userId,
      source: "webhook",
      sourceEventId: `msg_${eventId}`,
      occurredAt: new Date().toISOString(),
      user: {
        email: `${userId}@example.com`,
        firstName,
        lastName: "Lovelace",
        username: null,
        imageUrl: null,
        publicMetadata: {},
        banned: false,
        locked: false,
        clerkUpdatedAt: new Date().toISOString(),
      },
    },
  };
}

/** One execution of the function; `memoized` stands in for step results Inngest already holds. */
function run(userId: string, eventId = "evt_1", options: { firstName?: string | null; memoized?: Record<string, unknown> } = {}) {
  const steps = Object.entries(options.memoized ?? {}).map(([id, output]) => ({ id, handler: () => output }));
  return new InngestTestEngine({ function: fn }).execute({
    events: [userCreated(userId, eventId, options.firstName)],
    ...(steps.length > 0 && { steps }),
  });
}

async function insertUser(id: string, fields: { firstName?: string; deletedAt?: Date } = {}) {
  const now = new Date();
  await db.users().create({
    _id: id,
    email: `${id}@example.com`,
    firstName: fields.firstName ?? "Ada",
    lastName: "Lovelace",
    clerkCreatedAt: now,
    clerkUpdatedAt: now,
    ...(fields.deletedAt && { deletedAt: fields.deletedAt }),
  });
}
const welcomeEmailOf = async (id: string) => (await db.users().findById(id).lean())?.welcomeEmail;

/** The user model, except that the first write marking an email sent fails (once). */
function failingFirstMark(model: UserModel): { users: () => UserModel; failures: () => number } {
  let failures = 0;
  const proxy = new Proxy(model, {
    get(target, property, receiver) {
      if (property !== "updateOne") return Reflect.get(target, property, receiver);
      return (...args: Parameters<UserModel["updateOne"]>) => {
        const update = JSON.stringify(args[1] ?? {});
        if (failures === 0 && update.includes("welcomeEmail.sentAt")) {
          failures += 1;
          throw Object.assign(new Error("connection 7 to 127.0.0.1:27017 closed"), { name: "MongoNetworkError" });
        }
        return target.updateOne(...args);
      };
    },
  });
  return { users: () => proxy, failures: () => failures };
}

describe("send-welcome-email, run by @inngest/test against MongoDB and a real SMTP server", () => {
  it("is registered on app/user.created, one run per user per 24 h, one at a time per user", () => {
    const opts = fn["opts"] as { id: string; triggers: unknown[]; idempotency?: string; concurrency?: unknown };
    expect(fn.id(inngest.id)).toBe("clerk-mongo-sync-test-send-welcome-email");
    expect(opts.triggers).toEqual([expect.objectContaining({ name: "app/user.created" })]);
    expect(opts.idempotency).toBe("event.data.userId");
    expect(opts.concurrency).toEqual({ limit: 1, key: "event.data.userId" });
  });

  it("sends the welcome email to the stored user and marks it sent", async () => {
    await insertUser("user_1", { firstName: "Grace" });
    const { result, error, ctx } = await run("user_1");
    expect(error).toBeUndefined();
    expect(result).toEqual({ kind: "sent", messageId: "<welcome.user_1@acme.test>" });
    expect(ctx.step.run).toHaveBeenCalledWith("send", expect.any(Function));
    expect(ctx.step.run).toHaveBeenCalledWith("mark-sent", expect.any(Function));
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatchObject({ envelope: { to: ["user_1@example.com"] }, subject: "Welcome, Grace!" });
    expect(smtp.received[0]?.text).toContain("Hi Grace,");
    const welcome = await welcomeEmailOf("user_1");
    expect(welcome?.claimedAt).toBeInstanceOf(Date);
    expect(welcome?.sentAt).toBeInstanceOf(Date);
  });

  it("retried after a failure past the send (the mark fails once), never sends a second email", async () => {
    await insertUser("user_1");
    const flaky = failingFirstMark(db.users());
    current.users = flaky.users;

    const first = await run("user_1");
    expect(first.error).toMatchObject({ name: "MongoNetworkError" });
    expect(flaky.failures()).toBe(1);
    expect(smtp.received).toHaveLength(1);
    expect((await welcomeEmailOf("user_1"))?.sentAt ?? null).toBeNull();
    const sent = { kind: "sent", messageId: smtp.received[0]?.headers["message-id"] };

    // Inngest's retry: the "send" step's result is memoized, only "mark-sent" runs again.
    const retry = await run("user_1", "evt_1", { memoized: { send: sent } });
    expect(retry.error).toBeUndefined();
    expect(retry.result).toEqual(sent);
    expect((await welcomeEmailOf("user_1"))?.sentAt).toBeInstanceOf(Date);

    // Even a retry that lost the memoized result (the whole function again) only skips.
    const amnesiac = await run("user_1");
    expect(amnesiac.result).toEqual({ kind: "skipped", reason: "already-sent" });
    expect(smtp.received).toHaveLength(1);
  });

  it("the same user.created delivered twice (different event ids) sends one email", async () => {
    await insertUser("user_1");
    const first = await run("user_1", "evt_1");
    const replay = await run("user_1", "evt_2");
    expect(first.result).toMatchObject({ kind: "sent" });
    expect(replay.result).toEqual({ kind: "skipped", reason: "already-sent" });
    expect(replay.ctx.step.run).not.toHaveBeenCalledWith("mark-sent", expect.any(Function));
    expect(smtp.received).toHaveLength(1);
  });

  it("a second run while the first is still sending skips, and only the first sends", async () => {
    await insertUser("user_1");
    const direct = current.mailer;
    const gate = gatedMailer(direct);
    current.mailer = gate.mailer;
    const first = run("user_1", "evt_1");
    try {
      await gate.entered;
      current.mailer = direct;
      const second = await run("user_1", "evt_2");
      expect(second.result).toEqual({ kind: "skipped", reason: "already-sent" });
      expect(smtp.received).toHaveLength(0);
    } finally {
      gate.open();
    }
    expect((await first).result).toMatchObject({ kind: "sent" });
    expect(smtp.received).toHaveLength(1);
  });

  it("two simultaneous runs for one user send one email", async () => {
    // The claim relies on the per-document atomic findOneAndUpdate (on FerretDB, as built by
    // ../shared/tools/ferretdb.sh with its write lock, too).
    await insertUser("user_1");
    const results = await Promise.all([run("user_1", "evt_1"), run("user_1", "evt_2")]);
    expect(results.map((outcome) => (outcome.result as { kind: string }).kind).sort()).toEqual(["sent", "skipped"]);
    expect(smtp.received).toHaveLength(1);
  });

  it("never emails a user tombstoned before the function ran", async () => {
    await insertUser("user_gone", { deletedAt: new Date() });
    const { result, ctx } = await run("user_gone");
    expect(result).toEqual({ kind: "skipped", reason: "user-deleted" });
    expect(ctx.step.run).not.toHaveBeenCalledWith("mark-sent", expect.any(Function));
    expect(smtp.received).toHaveLength(0);
    expect((await welcomeEmailOf("user_gone"))?.claimedAt ?? null).toBeNull();
  });

  it("a recipient the server refuses for now releases the claim; the retry sends exactly once", async () => {
    await insertUser("user_1");
    smtp.rejectRecipients(451);
    const refused = await run("user_1");
    expect(refused.error).toMatchObject({ name: "MailDeliveryError", message: expect.stringContaining("451") });
    expect((await welcomeEmailOf("user_1"))?.claimedAt ?? null).toBeNull();

    smtp.acceptAll();
    const retry = await run("user_1");
    expect(retry.result).toMatchObject({ kind: "sent" });
    expect((await run("user_1", "evt_2")).result).toEqual({ kind: "skipped", reason: "already-sent" });
    expect(smtp.received).toHaveLength(1);
  });

  it("a stopped SMTP server releases the claim; the retry once it is back sends exactly once", async () => {
    await insertUser("user_1");
    await smtp.stop();
    const unreachable = await run("user_1");
    expect(unreachable.error).toMatchObject({ name: "MailDeliveryError", message: expect.stringContaining("not-accepted") });
    expect((await welcomeEmailOf("user_1"))?.claimedAt ?? null).toBeNull();

    await smtp.start();
    expect((await run("user_1")).result).toMatchObject({ kind: "sent" });
    expect((await run("user_1")).result).toEqual({ kind: "skipped", reason: "already-sent" });
    expect(smtp.received).toHaveLength(1);
  });

  it("a permanently refused recipient releases the claim and stops retrying (NonRetriableError)", async () => {
    await insertUser("user_1");
    smtp.rejectRecipients(550);
    const { error } = await run("user_1");
    expect(error).toMatchObject({ name: "NonRetriableError", message: expect.stringContaining("550") });
    expect((await welcomeEmailOf("user_1"))?.claimedAt ?? null).toBeNull();
    expect(smtp.received).toHaveLength(0);
  });

  it("a connection lost mid-send keeps the claim and stops (NonRetriableError): never a second email", async () => {
    await insertUser("user_1");
    smtp.dropAfterData();
    const { error } = await run("user_1");
    expect(error).toMatchObject({ name: "NonRetriableError", message: expect.stringContaining("may or may not have been delivered") });
    smtp.acceptAll();
    expect((await run("user_1")).result).toEqual({ kind: "skipped", reason: "already-sent" });
    expect(smtp.received).toHaveLength(1);
  });

  it("escapes a malicious first name in the HTML it sends", async () => {
    await insertUser("user_1", { firstName: `<script>alert("pwned")</script>` });
    expect((await run("user_1")).result).toMatchObject({ kind: "sent" });
    const [email] = smtp.received;
    expect(email?.html).toContain("Hi &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;,");
    expect(email?.html).not.toContain("<script>");
  });

  it("without SMTP (development) logs the rendered message instead of sending it", async () => {
    await insertUser("user_1", { firstName: "Grace" });
    const lines: string[] = [];
    current.mailer = createMailer({ from, logger: createLogger("info", { write: (line: string) => void lines.push(line) }) });
    const { result } = await run("user_1");
    expect(result).toEqual({ kind: "sent", messageId: "<welcome.user_1@acme.test>" });
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; mail?: Record<string, string> }).find((entry) => entry.mail);
    expect(logged).toMatchObject({
      msg: "email not sent (no SMTP_URL): logged instead",
      mail: { to: "user_1@example.com", subject: "Welcome, Grace!", text: expect.stringContaining("Hi Grace,") },
    });
    expect(smtp.received).toHaveLength(0);
    expect((await welcomeEmailOf("user_1"))?.sentAt).toBeInstanceOf(Date);
  });
});
