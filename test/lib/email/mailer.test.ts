import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { classifySmtpFailure, createMailer, MailDeliveryError, MailDeliveryFailure } from "../../../lib/email/mailer.js";
import { createLogger } from "../../../lib/logger.js";
import { startSmtpServer, type TestSmtpServer } from "../../support/smtp-server.js";

const from = "Acme <hello@acme.test>";
const message = { to: "ada@example.com", subject: "Welcome, Ada!", text: "Hi Ada,\n", html: "<p>Hi Ada,</p>\n" };

/** A pino logger writing into an array, to assert on what was (not) logged. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = createLogger("debug", { write: (line: string) => void lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

async function deliveryError(promise: Promise<unknown>): Promise<MailDeliveryError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MailDeliveryError);
  return error as MailDeliveryError;
}

describe("the SMTP mailer, against a real SMTP server on 127.0.0.1", () => {
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp.stop();
  });
  beforeEach(async () => {
    smtp.received.length = 0;
    smtp.acceptAll();
    await smtp.start();
  });

  it("delivers the message with its HTML and text parts, from the configured sender", async () => {
    const mailer = createMailer({ smtpUrl: smtp.url, from, logger: createLogger("silent") });
    await mailer.send({ ...message, subject: "Welcome, Zoë!" });
    expect(smtp.received).toHaveLength(1);
    const [email] = smtp.received;
    expect(email?.envelope).toEqual({ from: "hello@acme.test", to: ["ada@example.com"] });
    expect(email?.headers.from).toBe("Acme <hello@acme.test>");
    expect(email?.headers.to).toBe("ada@example.com");
    expect(email?.subject).toBe("Welcome, Zoë!");
    expect(email?.text).toBe("Hi Ada,\n");
    expect(email?.html).toBe("<p>Hi Ada,</p>\n");
  });

  it("gives every attempt at one message the same Message-ID and X-Idempotency-Key", async () => {
    const mailer = createMailer({ smtpUrl: smtp.url, from, logger: createLogger("silent") });
    const first = await mailer.send({ ...message, idempotencyKey: "welcome:user_1" });
    const second = await mailer.send({ ...message, idempotencyKey: "welcome:user_1" });
    const other = await mailer.send({ ...message, idempotencyKey: "welcome:user_2" });
    expect(first.messageId).toBe("<welcome.user_1@acme.test>");
    expect(second.messageId).toBe(first.messageId);
    expect(other.messageId).toBe("<welcome.user_2@acme.test>");
    expect(smtp.received.map((email) => email.headers["message-id"])).toEqual([first.messageId, first.messageId, other.messageId]);
    expect(smtp.received.map((email) => email.headers["x-idempotency-key"])).toEqual(["welcome:user_1", "welcome:user_1", "welcome:user_2"]);
  });

  it("keeps a hostile idempotency key from adding headers", async () => {
    const mailer = createMailer({ smtpUrl: smtp.url, from, logger: createLogger("silent") });
    await mailer.send({ ...message, idempotencyKey: "welcome:x\r\nBcc: victim@example.com" });
    const [email] = smtp.received;
    expect(email?.envelope.to).toEqual(["ada@example.com"]);
    expect(email?.headers.bcc).toBeUndefined();
    expect(email?.headers["x-idempotency-key"]).toBe("welcome:x=0d=0aBcc:=20victim=40example.com");
  });

  it("reports a refused recipient as not accepted: transient for 4xx, permanent for 5xx", async () => {
    const mailer = createMailer({ smtpUrl: smtp.url, from, logger: createLogger("silent") });
    smtp.rejectRecipients(451);
    const transient = await deliveryError(mailer.send(message));
    expect(transient).toMatchObject({ reason: MailDeliveryFailure.NotAccepted, permanent: false });
    smtp.rejectRecipients(550);
    const permanent = await deliveryError(mailer.send(message));
    expect(permanent).toMatchObject({ reason: MailDeliveryFailure.NotAccepted, permanent: true });
    expect(smtp.received).toHaveLength(0);
  });

  it("reports a stopped server as not accepted, and delivers again once it is back", async () => {
    const mailer = createMailer({ smtpUrl: smtp.url, from, logger: createLogger("silent") });
    await smtp.stop();
    const error = await deliveryError(mailer.send(message));
    expect(error).toMatchObject({ reason: MailDeliveryFailure.NotAccepted, permanent: false });
    await smtp.start();
    await expect(mailer.send(message)).resolves.toEqual({ messageId: expect.any(String) });
    expect(smtp.received).toHaveLength(1);
  });

  it("reports a connection lost after the message was handed over as outcome unknown (it did arrive)", async () => {
    const mailer = createMailer({ smtpUrl: smtp.url, from, logger: createLogger("silent") });
    smtp.dropAfterData();
    const error = await deliveryError(mailer.send(message));
    expect(error.reason).toBe(MailDeliveryFailure.OutcomeUnknown);
    expect(smtp.received).toHaveLength(1);
  });

  it("classifies what it cannot see happen: a timeout before the greeting is safe to retry, one mid-session is not", () => {
    expect(classifySmtpFailure({ code: "ETIMEDOUT", timeoutType: "CONNECT_TIMEOUT" }).reason).toBe(MailDeliveryFailure.NotAccepted);
    expect(classifySmtpFailure({ code: "ETIMEDOUT", timeoutType: "GREETING_TIMEOUT" }).reason).toBe(MailDeliveryFailure.NotAccepted);
    expect(classifySmtpFailure({ code: "ETIMEDOUT", timeoutType: "SOCKET_TIMEOUT" }).reason).toBe(MailDeliveryFailure.OutcomeUnknown);
    expect(classifySmtpFailure({ code: "ECONNECTION", originalCode: "ECONNRESET" }).reason).toBe(MailDeliveryFailure.OutcomeUnknown);
    expect(classifySmtpFailure(new Error("no code")).reason).toBe(MailDeliveryFailure.OutcomeUnknown);
  });
});

describe("SMTP credentials", () => {
  const credentials = { user: "mailer", pass: "s3cret-smtp-pass" };
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer({ credentials });
  });
  afterAll(async () => {
    await smtp.stop();
  });

  it("authenticates with the URL's credentials and never logs the URL, even when the login fails", async () => {
    const { logger, lines } = capturedLogger();
    const mailer = createMailer({ smtpUrl: smtp.url, from, logger });
    await mailer.send(message);
    expect(smtp.received).toHaveLength(1);

    const wrongUrl = smtp.url.replace(credentials.pass, "wrong-pass-123");
    const refused = createMailer({ smtpUrl: wrongUrl, from, logger });
    const error = await deliveryError(refused.send(message));
    expect(error).toMatchObject({ reason: MailDeliveryFailure.NotAccepted });
    expect(smtp.received).toHaveLength(1);

    expect(lines.join("\n")).toContain("email delivery failed");
    for (const secret of [credentials.pass, "wrong-pass-123", smtp.url, wrongUrl]) {
      expect(lines.join("\n")).not.toContain(secret);
      expect(error.message).not.toContain(secret);
    }
  });

  it("names a bad option without echoing the URL", () => {
    const logger = createLogger("silent");
    expect(() => createMailer({ smtpUrl: "http://user:pw-in-url@host", from, logger })).toThrow(/^smtpUrl must start with smtp:\/\//);
    expect(() => createMailer({ smtpUrl: "smtp://user:pw-in-url@host:99999", from, logger })).toThrow(/^smtpUrl is not a valid URL/);
    expect(() => createMailer({ smtpUrl: "http://user:pw-in-url@host", from, logger })).not.toThrow(/pw-in-url/);
    expect(() => createMailer({ from: "not an address", logger })).toThrow(/^from must be an email address/);
  });
});

describe("the development mailer (no SMTP_URL)", () => {
  it("logs the rendered message instead of sending it, and says so once at start", async () => {
    const { logger, entries } = capturedLogger();
    const mailer = createMailer({ from, logger });
    expect(entries()).toEqual([expect.objectContaining({ level: 40, msg: "SMTP_URL is not set: emails are logged, not sent" })]);

    const sent = await mailer.send({ ...message, idempotencyKey: "welcome:user_1" });
    expect(sent).toEqual({ messageId: "<welcome.user_1@acme.test>" });
    expect(entries()[1]).toMatchObject({
      level: 30,
      msg: "email not sent (no SMTP_URL): logged instead",
      mail: { messageId: "<welcome.user_1@acme.test>", from, to: "ada@example.com", subject: "Welcome, Ada!", text: "Hi Ada,\n" },
    });

    const anonymous = await mailer.send(message);
    expect(anonymous.messageId).toMatch(/^<dev-[0-9a-f-]{36}@acme\.test>$/);
  });
});
