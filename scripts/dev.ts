/**
 * `npm run dev`: serves exactly the functions in api/ on http://localhost:3000, in one
 * process, with the same default-exported handlers Vercel runs, and the static files of
 * public/ as Vercel's static output does. MongoDB comes from MONGODB_URI, else an embedded
 * server (data under .data/). Reads .env if present.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { startLocalMongo } from "./local-mongo.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;
interface Route {
  path: string;
  pattern: RegExp;
  /** The names of the dynamic segments (`[id]` → `id`), in order. */
  parameters: string[];
  file: string;
}

const root = process.cwd();
if (existsSync(join(root, ".env"))) process.loadEnvFile(join(root, ".env"));

const port = Number(process.env.PORT ?? 3000);
const dataDir = join(root, ".data", "mongodb");
mkdirSync(dataDir, { recursive: true });

const mongo = await startLocalMongo({ env: process.env, dataDir, keepData: true, log: (line) => console.log(`[dev] ${line}`) });
process.env.MONGODB_URI ||= mongo.uri;
process.env.MONGODB_DB_NAME ||= "clerk_mongo_sync_dev";
if (!process.env.INNGEST_EVENT_KEY && !process.env.INNGEST_SIGNING_KEY) process.env.INNGEST_DEV ||= "1";
/** With nothing configured the server still starts; Clerk-backed calls fail until real keys are set in .env. */
const localOnly: Record<string, string> = {
  CLERK_WEBHOOK_SIGNING_SECRET: `whsec_${Buffer.from("local development only").toString("base64")}`,
  CLERK_SECRET_KEY: "sk_test_local_development_only",
  CLERK_PUBLISHABLE_KEY: `pk_test_${Buffer.from("clerk.localhost$").toString("base64")}`,
};
/** The example React app's Vite dev server (examples/react) may call the API from its own origin. */
const exampleAppOrigin = "http://localhost:5173";
if (!process.env.CORS_ALLOWED_ORIGINS && !process.env.CLERK_AUTHORIZED_PARTIES) {
  process.env.CORS_ALLOWED_ORIGINS = exampleAppOrigin;
  console.log(`[dev] CORS_ALLOWED_ORIGINS is unset: allowing the example app at ${exampleAppOrigin}`);
}
for (const [name, value] of Object.entries(localOnly)) {
  if (process.env[name]) continue;
  process.env[name] = value;
  console.log(`[dev] ${name} is unset: using a local-only placeholder; set yours in .env (see .env.example)`);
}

/** api/users/[id].ts → /api/users/:id, api/index.ts → /api, as Vercel routes them (with `?id=` added, as Vercel does). */
function discoverRoutes(): Route[] {
  const apiDir = join(root, "api");
  const files = readdirSync(apiDir, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    // As on Vercel, a file or folder whose name starts with `_` (or `.`) is not a function.
    .filter((file) => !file.split(sep).some((segment) => segment.startsWith("_") || segment.startsWith(".")));
  return files
    .map((file) => {
      const segments = relative(apiDir, join(apiDir, file)).replace(/\.ts$/, "").split(sep);
      if (segments.at(-1) === "index") segments.pop();
      const path = `/api${segments.map((segment) => `/${segment}`).join("")}`;
      const pattern = new RegExp(
        `^/api${segments.map((segment) => (/^\[.+\]$/.test(segment) ? "/([^/]+)" : `/${segment.replace(/[.*+?^${}()|\\]/g, "\\$&")}`)).join("")}/?$`,
      );
      const parameters = segments.filter((segment) => /^\[.+\]$/.test(segment)).map((segment) => segment.slice(1, -1));
      return { path, pattern, parameters, file: join(apiDir, file) };
    })
    .sort((a, b) => Number(a.path.includes("[")) - Number(b.path.includes("[")) || b.path.length - a.path.length);
}

const routes = discoverRoutes();
const handlers = new Map<string, Handler>();
for (const route of routes) {
  const module = (await import(pathToFileURL(route.file).href)) as { default?: Handler };
  if (typeof module.default !== "function") throw new Error(`${route.file} has no default-exported handler`);
  handlers.set(route.path, module.default);
}

/** public/ as Vercel serves it: `/` is index.html, other paths name their file. */
const publicDir = join(root, "public");
const contentTypes: Record<string, string> = { ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8" };
function servePublic(pathname: string, res: ServerResponse): boolean {
  const file = join(publicDir, pathname === "/" ? "index.html" : pathname);
  if (!file.startsWith(publicDir + sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) return false;
  res.writeHead(200, { "content-type": contentTypes[/\.[a-z]+$/.exec(file)![0]] ?? "application/octet-stream" });
  res.end(readFileSync(file));
  return true;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const { pathname } = url;
  const route = routes.find((candidate) => candidate.pattern.test(pathname));
  const handler = route && handlers.get(route.path);
  if (route && route.parameters.length > 0) {
    // Vercel hands a function its dynamic segments again as query parameters (`/api/users/[id]` → `?id=`).
    const values = route.pattern.exec(pathname)?.slice(1) ?? [];
    route.parameters.forEach((name, index) => url.searchParams.append(name, values[index] ?? ""));
    req.url = `${url.pathname}${url.search}`;
  }
  if (!handler && servePublic(pathname, res)) return;
  if (!handler) {
    res.writeHead(404, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: "/problems/not-found", title: "Not found", status: 404 }));
    return;
  }
  Promise.resolve(handler(req, res)).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: "/problems/internal", title: "Internal server error", status: 500 }));
  });
});

server.listen(port, "localhost", () => {
  console.log(`[dev] MongoDB: ${mongo.source}`);
  console.log(`[dev] serving ${routes.length} functions on http://localhost:${port}`);
  for (const route of routes) console.log(`[dev]   ${route.path}`);
  console.log("[dev] Inngest: run the dev server against this app, on a machine that can download it:");
  console.log(`[dev]   npx inngest-cli@latest dev -u http://localhost:${port}/api/inngest`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`[dev] ${signal}: closing the server and the database connection`);
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const { closeMongoConnections } = await import("../lib/db/connection.js");
  await closeMongoConnections();
  await mongo.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
