import type { IncomingMessage, ServerResponse } from "node:http";
import { openApiDocument } from "../lib/http/openapi.js";
import { sendProblem } from "../lib/http/problem.js";
import { sendJson } from "../lib/http/send-json.js";

/** GET /api/openapi.json: the API's OpenAPI 3.1 document. Public. */
export default function openapi(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET") {
    sendProblem(res, "methodNotAllowed", { headers: { allow: "GET" } });
    return;
  }
  sendJson(res, 200, openApiDocument(), { "cache-control": "public, max-age=300" });
}
