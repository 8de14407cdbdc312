import { afterAll, beforeAll, beforeEach } from "vitest";
import { createRequestGate, type RequestGate } from "../../lib/http/request-gate.js";
import type { Route, RouteDependencies } from "../../lib/http/route.js";
import { serveRoute } from "../../lib/http/route.js";
import { parseConfig } from "../../lib/config.js";
import { createLogger } from "../../lib/logger.js";
import { createServices, type Services } from "../../lib/services.js";
import { startClerkBackendApi } from "./clerk-backend-api.js";
import { testClerkEnv } from "./clerk-fixtures.js";
import { createTokenFactory, testSecretKey } from "./clerk-tokens.js";
import { serveHandler } from "./http.js";
import type { useTestDatabase } from "./mongo.js";

/**
 * The API as production wires it (createServices from a parsed config), with Clerk's
 * Backend API stood in on 127.0.0.1, tokens signed by a key made here and verified
 * networkless through `jwtKey`, and the worker's test database.
 */
export function useTestApi(db: ReturnType<typeof useTestDatabase>, env: Record<string, string> | (() => Record<string, string>) = {}) {
  const state = {} as {
    clerk: Awaited<ReturnType<typeof startClerkBackendApi>>;
    tokens: Awaited<ReturnType<typeof createTokenFactory>>;
    services: Services;
    gate: RequestGate;
    /** The production pipeline's dependencies, built from this config. */
    deps: RouteDependencies;
  };
  const servers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    state.clerk = await startClerkBackendApi(testSecretKey);
    state.tokens = await createTokenFactory();
    const config = parseConfig({
      MONGODB_URI: db.config.uri,
      MONGODB_DB_NAME: db.config.dbName,
      ...testClerkEnv(state.tokens.jwtKey),
      CLERK_API_URL: state.clerk.url,
      LOG_LEVEL: "silent",
      ...(typeof env === "function" ? env() : env),
    });
    const logger = createLogger("silent");
    state.gate = await createRequestGate(config, logger);
    state.services = await createServices(config, logger);
    state.deps = { gate: async () => state.gate, services: async () => state.services };
  });
  beforeEach(() => {
    state.clerk.users.clear();
    state.clerk.calls.length = 0;
    state.clerk.setDelay(0);
    state.clerk.setFailing(false);
    state.clerk.rateLimitNext(0, 1);
    state.clerk.onList(undefined);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await state.gate?.close();
    await state.clerk?.close();
  });

  /** Serves a route on 127.0.0.1; returns a fetch bound to it that signs in as `as` when given. */
  async function serve(route: Route) {
    const server = await serveHandler(serveRoute(route, state.deps));
    servers.push(server);
    return async (path: string, init: RequestInit & { as?: string; token?: string } = {}) => {
      const { as, token, headers, ...rest } = init;
      const bearer = token ?? (as ? await state.tokens.sign({ userId: as }) : undefined);
      return fetch(`${server.url}${path}`, {
        ...rest,
        headers: { ...(bearer && { authorization: `Bearer ${bearer}` }), ...(headers as Record<string, string>) },
      });
    };
  }

  /** Serves several routes on one origin, as Vercel does: `[path pattern, route]` pairs, first match wins. */
  async function serveApp(routes: [RegExp, Route][]) {
    const handlers = routes.map(([pattern, route]) => [pattern, serveRoute(route, state.deps)] as const);
    const server = await serveHandler((req, res) => {
      const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
      const match = handlers.find(([pattern]) => pattern.test(pathname));
      if (!match) return void res.writeHead(404).end();
      return match[1](req, res);
    });
    servers.push(server);
    return server.url;
  }

  return { state, serve, serveApp };
}
