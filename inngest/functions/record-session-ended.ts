import type { InngestClient } from "../client.js";
import { createRecordSessionFunction, type SessionActivityFunctionDeps } from "./record-session-activity.js";

export function createRecordSessionEnded(inngest: InngestClient, deps: SessionActivityFunctionDeps) {
  return createRecordSessionFunction(inngest, deps, "session.ended");
}
