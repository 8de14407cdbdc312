import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import { formatIssues } from "../validation/format-issues.js";
import { ProblemError } from "./problem.js";
import { readRawBody } from "./read-raw-body.js";

/**
 * Reads a JSON request body and validates it with `schema`. Refuses the wrong
 * content type (415), oversized bodies (413), malformed JSON (400) and anything the
 * schema rejects (400, listing each problem): strict schemas turn unknown keys,
 * operator objects like `{"$ne": …}` and mass assignment into errors, never silent drops.
 */
export async function readJsonBody<T extends z.ZodType>(req: IncomingMessage, schema: T, limit: number): Promise<z.infer<T>> {
  const contentType = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (contentType !== "application/json") {
    throw new ProblemError("unsupportedMediaType", { detail: `Got ${contentType ?? "no Content-Type"}.` });
  }
  const raw = await readRawBody(req, limit);
  if (raw.kind === "too-large") throw new ProblemError("payloadTooLarge", { detail: `The body exceeds ${raw.limit} bytes.` });

  let json: unknown;
  try {
    json = JSON.parse(raw.body.toString("utf8"));
  } catch {
    throw new ProblemError("malformedJson");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ProblemError("invalidPayload", { extensions: { errors: formatIssues(parsed.error.issues) } });
  }
  return parsed.data;
}
