import { randomUUID } from "node:crypto";
import nodemailer, { type NodemailerError } from "nodemailer";
import type { Logger } from "../logger.js";

export interface MailMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  /**
   * Names this message for good (e.g. `welcome:user_123`): it is sent as `X-Idempotency-Key`
   * and turned into a stable `Message-ID` on the sender's domain, so every attempt to send
   * the same message carries the same id and receivers that deduplicate by it can.
   */
  idempotencyKey?: string;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the message; throws `MailDeliveryError` otherwise. */
  send(message: MailMessage): Promise<{ messageId: string }>;
}

export interface MailerOptions {
  /** `smtp://` or `smtps://` with credentials; unset: a development mailer that only logs. */
  smtpUrl?: string;
  /** The sender, e.g. `App <hello@example.com>`. */
  from: string;
  logger: Logger;
}

/** How a failed send ended, as far as the sender can know. */
export const MailDeliveryFailure = {
  /** The server refused the message, or was never reached: it was not sent, sending again is safe. */
  NotAccepted: "not-accepted",
  /** The connection broke while the server may already have taken the message: it may have been sent. */
  OutcomeUnknown: "outcome-unknown",
} as const;
export type MailDeliveryFailure = (typeof MailDeliveryFailure)[keyof typeof MailDeliveryFailure];

export class MailDeliveryError extends Error {
  override readonly name = "MailDeliveryError";
  readonly action: string;
  constructor(
    readonly reason: MailDeliveryFailure,
    /** The server refused this message for good (a 5xx reply): the same message will be refused again. */
    readonly permanent: boolean,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.action =
      reason === MailDeliveryFailure.OutcomeUnknown
        ? "do not resend automatically: the recipient may already have it"
        : permanent
          ? "fix the recipient or the message; retrying the same message will fail again"
          : "retry later";
  }
}

/** Short, so a dead SMTP server fails a function step quickly instead of hanging it. */
const smtpTimeouts = { connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: 10_000, dnsTimeout: 5_000 };

/** Node's codes for a connection that never reached the server: nothing was sent. */
const neverConnected = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);
/** Nodemailer's codes for failures before the message was handed over, or refused by the server. */
const refusedOrBeforeData = new Set(["EENVELOPE", "EMESSAGE", "EAUTH", "ENOAUTH", "EOAUTH2", "EDNS", "ETLS", "EREQUIRETLS", "ECONFIG", "EMAXRECIPIENTS", "EPROXY"]);
const timeoutsBeforeSession = new Set(["CONNECT_TIMEOUT", "GREETING_TIMEOUT", "UPGRADE_TIMEOUT"]);

/**
 * Whether a failed send certainly did not deliver. An SMTP reply (4xx/5xx) is the server
 * saying no; a refused connection or a timeout before the greeting means nothing was sent.
 * A connection that broke or timed out mid-session is ambiguous (it may have broken after
 * the server queued the message but before we read its 250), so it is "unknown".
 */
export function classifySmtpFailure(error: unknown): { reason: MailDeliveryFailure; permanent: boolean } {
  const err = (typeof error === "object" && error !== null ? error : {}) as NodemailerError;
  const permanent = err.permanent === true;
  if (typeof err.responseCode === "number" && err.responseCode >= 400) return { reason: MailDeliveryFailure.NotAccepted, permanent };
  const code = err.code ?? "";
  if (refusedOrBeforeData.has(code)) return { reason: MailDeliveryFailure.NotAccepted, permanent };
  if (code === "ETIMEDOUT" && err.timeoutType && timeoutsBeforeSession.has(err.timeoutType)) {
    return { reason: MailDeliveryFailure.NotAccepted, permanent: false };
  }
  if ((code === "ESOCKET" || code === "ECONNECTION") && neverConnected.has(err.originalCode ?? "")) {
    return { reason: MailDeliveryFailure.NotAccepted, permanent: false };
  }
  return { reason: MailDeliveryFailure.OutcomeUnknown, permanent: false };
}

/** The domain of the sender's address (`App <hello@example.com>` → `example.com`). */
function senderDomain(from: string): string | null {
  return /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? null;
}

/** A key reduced to characters that are safe in a header and in a Message-ID's left part. */
function headerSafe(key: string): string {
  return key.replace(/[^A-Za-z0-9_.:-]/g, (char) => `=${char.codePointAt(0)?.toString(16).padStart(2, "0") ?? ""}`);
}

function validate(options: MailerOptions): { domain: string; smtpUrl: string | undefined } {
  const domain = senderDomain(options.from);
  if (!domain) throw new TypeError('from must be an email address, optionally with a name: "App <hello@example.com>"');
  const smtpUrl = options.smtpUrl?.trim() || undefined;
  if (smtpUrl) {
    // The URL holds credentials: the messages below never include it.
    let protocol: string;
    try {
      protocol = new URL(smtpUrl).protocol;
    } catch {
      throw new TypeError("smtpUrl is not a valid URL (expected smtp://user:pass@host:port or smtps://…)");
    }
    if (protocol !== "smtp:" && protocol !== "smtps:") throw new TypeError("smtpUrl must start with smtp:// or smtps://");
  }
  return { domain, smtpUrl };
}

/**
 * Sends email through SMTP (nodemailer, one connection per message, short timeouts) when
 * `smtpUrl` is set; otherwise a development mailer that logs the rendered message and
 * sends nothing. The SMTP URL carries credentials and is never logged or put in an error.
 */
export function createMailer(options: MailerOptions): Mailer {
  const { domain, smtpUrl } = validate(options);
  const { from, logger } = options;

  const headersFor = (message: MailMessage): Record<string, string> => {
    const headers = { ...message.headers };
    if (message.idempotencyKey) {
      const key = headerSafe(message.idempotencyKey);
      headers["X-Idempotency-Key"] = key;
      headers["Message-ID"] ??= `<${key.replace(/:/g, ".")}@${domain}>`;
    }
    return headers;
  };

  if (!smtpUrl) {
    logger.warn("SMTP_URL is not set: emails are logged, not sent");
    return {
      async send(message) {
        const headers = headersFor(message);
        const messageId = headers["Message-ID"] ?? `<dev-${randomUUID()}@${domain}>`;
        logger.info(
          { mail: { messageId, from, to: message.to, subject: message.subject, text: message.text } },
          "email not sent (no SMTP_URL): logged instead",
        );
        return { messageId };
      },
    };
  }

  const transport = nodemailer.createTransport({ url: smtpUrl, ...smtpTimeouts });
  return {
    async send(message) {
      try {
        const info = await transport.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          headers: headersFor(message),
        });
        logger.debug({ messageId: info.messageId }, "email accepted by the SMTP server");
        return { messageId: info.messageId };
      } catch (error) {
        const { reason, permanent } = classifySmtpFailure(error);
        const err = error as NodemailerError;
        logger.warn(
          { reason, permanent, code: err.code, responseCode: err.responseCode, command: err.command },
          "email delivery failed",
        );
        throw new MailDeliveryError(reason, permanent, `email delivery failed (${reason}): ${err.message ?? String(error)}`, {
          cause: error,
        });
      }
    },
  };
}
