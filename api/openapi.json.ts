import type { IncomingMessage, ServerResponse } from "node:http";
import { openApiDocument } from "../lib/http/openapi.js";
import { noQuerySchema, parseQuery } from "../lib/http/parse-query.js";
import { ProblemError, sendProblem } from "../lib/http/problem.js";
import { sendJson } from "../lib/http/send-json.js";

/** GET /api/openapi.json: the API's OpenAPI 3.1 document. Public. Takes no query parameters. */
export default function openapi(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    sendProblem(res, "methodNotAllowed", { headers: { allow: "GET, HEAD" } });
    return;
  }
  try {
    parseQuery(new URL(req.url ?? "/", "http://localhost"), noQuerySchema);
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    sendProblem(res, error.key, error.details);
    return;
  }
  sendJson(res, 200, openApiDocument(), { "cache-control": "public, max-age=300" });
}
