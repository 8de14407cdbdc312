import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import { formatIssues } from "../validation/format-issues.js";
import { ProblemError } from "./problem.js";
import { readRawBody, type ReadRawBodyOptions } from "./read-raw-body.js";

/** WHATWG's labels for UTF-8 that clients actually send; JSON is UTF-8 (RFC 8259 §8.1). */
const utf8Labels = new Set(["utf-8", "utf8"]);

/** `application/json; charset=utf-8` → `{ mediaType: "application/json", charset: "utf-8" }` (lower-cased, unquoted). */
export function parseContentType(header: string | undefined): { mediaType: string | undefined; charset: string | undefined } {
  if (header === undefined) return { mediaType: undefined, charset: undefined };
  const [type, ...parameters] = header.split(";");
  let charset: string | undefined;
  for (const parameter of parameters) {
    const [name, ...rest] = parameter.split("=");
    if (name?.trim().toLowerCase() !== "charset") continue;
    charset = rest.join("=").trim().replace(/^"(.*)"$/, "$1").toLowerCase();
  }
  return { mediaType: type?.trim().toLowerCase(), charset };
}

/**
 * Reads a JSON request body and validates it with `schema`. Refuses the wrong
 * content type or a charset other than UTF-8 (415), oversized bodies (413), a body that
 * does not arrive in time (408), bytes that are not UTF-8 and malformed JSON (400), and
 * anything the schema rejects (400, listing each problem): strict schemas turn unknown keys,
 * operator objects like `{"$ne": …}` and mass assignment into errors, never silent drops.
 * Invalid UTF-8 is refused, never rewritten into U+FFFD and stored.
 */
export async function readJsonBody<T extends z.ZodType>(
  req: IncomingMessage,
  schema: T,
  limit: number,
  options: ReadRawBodyOptions = {},
): Promise<z.infer<T>> {
  const { mediaType, charset } = parseContentType(req.headers["content-type"]);
  if (mediaType !== "application/json") {
    throw new ProblemError("unsupportedMediaType", { detail: `Got ${mediaType || "no Content-Type"}.` });
  }
  if (charset !== undefined && !utf8Labels.has(charset)) {
    throw new ProblemError("unsupportedMediaType", { detail: `Got charset=${charset}; JSON bodies must be UTF-8.` });
  }
  const raw = await readRawBody(req, limit, options);
  if (raw.kind === "too-large") {
    throw new ProblemError("payloadTooLarge", { detail: `The body exceeds ${raw.limit} bytes.`, headers: { connection: "close" } });
  }
  if (raw.kind === "timeout") {
    throw new ProblemError("requestTimeout", { detail: `The body did not arrive within ${raw.timeoutMs} ms.`, headers: { connection: "close" } });
  }

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw.body);
  } catch {
    throw new ProblemError("malformedJson", { detail: "The body is not valid UTF-8." });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProblemError("malformedJson");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ProblemError("invalidPayload", { extensions: { errors: formatIssues(parsed.error.issues) } });
  }
  return parsed.data;
}
