import type { IncomingMessage, ServerResponse } from "node:http";
import { sendProblem } from "./problem.js";

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Builds a handler's dependencies on its first request rather than at import, so
 * importing an `api/` module is cheap (cold starts: heavy modules can be imported inside
 * `build`) and tests can import its factory without a process environment. A failure to build (bad configuration)
 * answers 500 problem+json and is retried on the next request.
 */
export function lazyHandler(build: () => NodeHandler | Promise<NodeHandler>): NodeHandler {
  let handler: NodeHandler | undefined;
  return async (req, res) => {
    try {
      handler ??= await build();
    } catch (error) {
      console.error(error instanceof Error ? error.message : error);
      sendProblem(res, "internal", { detail: "The service is misconfigured; see the server logs." });
      return;
    }
    await handler(req, res);
  };
}
