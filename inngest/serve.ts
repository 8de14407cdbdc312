import { serve } from "inngest/node";
import type { InngestClient } from "./client.js";
import { type AllFunctionDeps, createFunctions } from "./functions/index.js";

/**
 * The HTTP handler Inngest calls to run the functions (and PUTs to sync them). Outside dev
 * mode the SDK rejects any request not signed with INNGEST_SIGNING_KEY.
 */
export function createInngestHandler(inngest: InngestClient, deps: AllFunctionDeps) {
  return serve({ client: inngest, functions: createFunctions(inngest, deps) });
}
