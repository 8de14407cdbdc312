import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import type { Mailer } from "../../lib/email/mailer.js";

/** A message as the SMTP server received it, parsed enough to assert on. */
export interface ReceivedEmail {
  envelope: { from: string | null; to: string[] };
  /** Lower-cased header names, decoded values (the first occurrence of each). */
  headers: Record<string, string>;
  subject: string;
  text: string;
  html: string;
  raw: string;
}

export interface SmtpServerOptions {
  /** When set, the server advertises AUTH and accepts only these credentials (over plain text). */
  credentials?: { user: string; pass: string };
}

type Rejection = { code: number; message: string };
type Mode = { kind: "accept" } | { kind: "reject-recipients"; rejection: Rejection } | { kind: "drop-after-data" };

/**
 * A real SMTP server (`smtp-server`) on 127.0.0.1, no TLS, that keeps what it receives.
 * It can refuse recipients, hang up after taking a message without answering (the
 * ambiguous failure), and be stopped and started again on the same port.
 */
export async function startSmtpServer(options: SmtpServerOptions = {}) {
  const received: ReceivedEmail[] = [];
  let mode: Mode = { kind: "accept" };
  let port = 0;
  let server: SMTPServer | undefined;

  const create = () => {
    const created: SMTPServer = new SMTPServer({
      secure: false,
      disabledCommands: options.credentials ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
      authOptional: !options.credentials,
      allowInsecureAuth: true,
      logger: false,
      closeTimeout: 1_000,
      onAuth(auth, _session, callback) {
        const ok = auth.username === options.credentials?.user && auth.password === options.credentials?.pass;
        if (ok) return callback(null, { user: auth.username });
        return callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
      },
      onRcptTo(_address, _session, callback) {
        if (mode.kind === "reject-recipients") {
          return callback(Object.assign(new Error(mode.rejection.message), { responseCode: mode.rejection.code }));
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          received.push(parseEmail(Buffer.concat(chunks).toString("utf8"), session));
          if (mode.kind === "drop-after-data") {
            // The message is here, but the client never hears so: it cannot know.
            for (const connection of created.connections) if (connection.id === session.id) connection._socket.destroy();
            return;
          }
          callback();
        });
      },
    });
    created.on("error", () => {
      // A client that hangs up mid-session is not a test failure.
    });
    return created;
  };

  async function start() {
    if (server) return;
    const starting = create();
    await new Promise<void>((resolve, reject) => {
      starting.server.once("error", reject);
      starting.listen(port, "127.0.0.1", () => resolve());
    });
    port = (starting.server.address() as AddressInfo).port;
    server = starting;
  }

  async function stop() {
    const stopping = server;
    server = undefined;
    if (stopping) await new Promise<void>((resolve) => stopping.close(() => resolve()));
  }

  await start();
  const auth = options.credentials ? `${encodeURIComponent(options.credentials.user)}:${encodeURIComponent(options.credentials.pass)}@` : "";
  return {
    url: `smtp://${auth}127.0.0.1:${port}`,
    port,
    received,
    /** Received messages addressed (envelope) to `address`. */
    to: (address: string) => received.filter((email) => email.envelope.to.includes(address)),
    /** Refuse every RCPT TO with this reply until `acceptAll()`. */
    rejectRecipients: (code: number, message = code >= 500 ? "No such user here" : "Try again later") => {
      mode = { kind: "reject-recipients", rejection: { code, message } };
    },
    /** Take the next messages, then close the connection instead of answering 250. */
    dropAfterData: () => {
      mode = { kind: "drop-after-data" };
    },
    acceptAll: () => {
      mode = { kind: "accept" };
    },
    start,
    stop,
  };
}

export type TestSmtpServer = Awaited<ReturnType<typeof startSmtpServer>>;

/**
 * Wraps a mailer so that sends wait at a gate: `entered` resolves when the first send
 * has started (its claim is taken), and nothing reaches the server until `open()`.
 * Lets a test run a second attempt while the first is provably mid-send.
 */
export function gatedMailer(inner: Mailer) {
  let enter!: () => void;
  let open!: () => void;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  const mailer: Mailer = {
    async send(message) {
      enter();
      await opened;
      return inner.send(message);
    },
  };
  return { mailer, entered, open };
}

/** Splits a MIME entity into its unfolded headers and body. */
function splitEntity(entity: string): { headers: Record<string, string>; body: string } {
  const end = entity.search(/\r?\n\r?\n/);
  const head = end === -1 ? entity : entity.slice(0, end);
  const body = end === -1 ? "" : entity.slice(end).replace(/^\r?\n\r?\n/, "");
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers[name] ??= decodeEncodedWords(line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`), as nodemailer writes non-ASCII headers. */
function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_match, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : decodeQuotedPrintable(text.replace(/_/g, " ")),
    );
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, "latin1").toString("utf8");
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch (encoding?.toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    case "quoted-printable":
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

/** The text/plain and text/html parts of an entity, walking multiparts. */
function collectParts(entity: string, parts: { text: string; html: string }) {
  const { headers, body } = splitEntity(entity);
  const contentType = headers["content-type"] ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (/^multipart\//i.test(contentType) && boundary) {
    const sections = body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith("--")) break;
      // The line break before a delimiter belongs to the delimiter, not to the part.
      collectParts(section.replace(/^\r?\n/, "").replace(/\r?\n$/, ""), parts);
    }
    return;
  }
  const decoded = decodeBody(body, headers["content-transfer-encoding"]).replace(/\r\n/g, "\n");
  if (/^text\/html/i.test(contentType)) parts.html += decoded;
  else if (/^text\/plain/i.test(contentType)) parts.text += decoded;
}

function parseEmail(raw: string, session: SMTPServerSession): ReceivedEmail {
  const { headers } = splitEntity(raw);
  const parts = { text: "", html: "" };
  collectParts(raw, parts);
  return {
    envelope: {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
      to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
    },
    headers,
    subject: headers.subject ?? "",
    text: parts.text,
    html: parts.html,
    raw,
  };
}
