import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import { createConnection, createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../support/server-process.js";

/** The processes and servers the browser test runs: the API (`npm run dev`), the built app, a switchable path to MongoDB. */

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const exampleDir = join(repoRoot, "examples", "react");

/**
 * `scripts/dev.ts` (what `npm run dev` runs) as a child process on `port`, with exactly `env`
 * (plus PATH and HOME): nothing of the caller's environment leaks in. Resolves once it serves.
 */
export async function startDevServer(port: number, env: Record<string, string>) {
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "scripts", "dev.ts")], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const collect = (chunk: Buffer) => output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  const log = () => output.slice(-60).join("\n");

  try {
    await waitFor(
      async () => {
        if (exited !== null) throw new Error(`scripts/dev.ts exited (${exited}) before serving:\n${log()}`);
        return fetch(`http://localhost:${port}/api/openapi.json`).then(
          (response) => response.ok,
          () => false,
        );
      },
      "scripts/dev.ts to serve",
      60_000,
    );
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- dev server output ---\n${log()}`);
  }

  return {
    url: `http://localhost:${port}`,
    /** The server's recent output, for a failing assertion's message. */
    log,
    async stop() {
      if (exited !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * A TCP relay to the MongoDB-wire server that the test opens and closes: while closed, the API
 * cannot connect at all (connection refused), as when the database is down.
 */
export async function startMongoGate(mongoUri: string, port: number) {
  const target = new URL(mongoUri);
  if (target.protocol !== "mongodb:" || target.host.includes(",")) {
    throw new Error(`the browser test relays one mongodb:// host; MONGODB_URI is ${target.protocol}//${target.host}`);
  }
  const targetPort = Number(target.port || 27017);
  const sockets = new Set<Socket>();
  let server: TcpServer | undefined;

  const relayed = new URL(mongoUri);
  relayed.host = `127.0.0.1:${port}`;
  if (!relayed.searchParams.has("directConnection")) relayed.searchParams.set("directConnection", "true");

  return {
    /** The connection string through the gate. */
    uri: relayed.toString(),
    async open() {
      if (server) return;
      server = createTcpServer((client) => {
        const upstream = createConnection(targetPort, target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.once("close", () => sockets.delete(socket));
          socket.on("error", () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.once("close", () => upstream.destroy());
        upstream.once("close", () => client.destroy());
      });
      await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (closing) await new Promise((resolve) => closing.close(resolve));
    },
  };
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** Serves a built single-page app on 127.0.0.1 (unknown paths get index.html). */
export async function serveStatic(dir: string, port: number) {
  const server: Server = createHttpServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const file = normalize(join(dir, pathname));
    const asset = file.startsWith(dir.endsWith(sep) ? dir : dir + sep) && extname(file) !== "";
    const served = asset ? file : join(dir, "index.html");
    readFile(served).then(
      (body) => res.writeHead(200, { "content-type": contentTypes[extname(served)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Builds examples/react with its own vite.config.ts, for this run: the API's URL and a
 * publishable key baked in as `npm run build` would from .env.production, and `@clerk/react`
 * replaced by the stand-in (clerk-stand-in.ts). React is deduplicated so the app and the
 * stand-in share one copy, whichever node_modules it comes from.
 */
export async function buildExampleApp(options: { outDir: string; envDir: string; apiUrl: string; publishableKey: string }) {
  const { build } = await import("vite");
  await writeFile(
    join(options.envDir, ".env.production"),
    `VITE_API_URL=${options.apiUrl}\nVITE_CLERK_PUBLISHABLE_KEY=${options.publishableKey}\n`,
  );
  await build({
    configFile: join(exampleDir, "vite.config.ts"),
    root: exampleDir,
    mode: "production",
    envDir: options.envDir,
    logLevel: "warn",
    resolve: {
      alias: [{ find: /^@clerk\/react$/, replacement: fileURLToPath(new URL("./clerk-stand-in.ts", import.meta.url)) }],
      dedupe: ["react", "react-dom"],
    },
    build: { outDir: options.outDir, emptyOutDir: true, reportCompressedSize: false },
  });
}
