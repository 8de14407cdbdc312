import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

/**
 * A MongoDB-wire server for `npm test` and `npm run dev` with nothing configured:
 * 1. MONGODB_URI, if set;
 * 2. else a real mongod from mongodb-memory-server (downloads mongod once);
 * 3. else, offline, FerretDB on SQLite built with Go by scripts/ferretdb.sh;
 * 4. else an error saying what to set.
 */

const run = promisify(execFile);
const ferretScript = fileURLToPath(new URL("./ferretdb.sh", import.meta.url));

export interface LocalMongo {
  uri: string;
  source: "MONGODB_URI" | "mongodb-memory-server" | "ferretdb";
  stop(): Promise<void>;
}

export interface LocalMongoOptions {
  env: Record<string, string | undefined>;
  /** Where mongodb-memory-server keeps its data (dev keeps it under .data/); temporary when unset. */
  dataDir?: string;
  /** Keep FerretDB's SQLite files between runs (dev). */
  keepData?: boolean;
  log: (message: string) => void;
}

export async function startLocalMongo(options: LocalMongoOptions): Promise<LocalMongo> {
  const { env, log } = options;
  if (env.MONGODB_URI) return { uri: env.MONGODB_URI, source: "MONGODB_URI", stop: async () => {} };

  const memoryServerError = await tryMemoryServer(options);
  if (typeof memoryServerError !== "string") return memoryServerError;
  log(`mongodb-memory-server unavailable (${memoryServerError}); trying FerretDB on SQLite`);

  const ferret = await tryFerretDb(options);
  if (typeof ferret !== "string") return ferret;

  throw new Error(
    [
      "No MongoDB server available for tests/dev.",
      `  - mongodb-memory-server: ${memoryServerError}`,
      `  - FerretDB fallback: ${ferret}`,
      "Set MONGODB_URI to a MongoDB server (e.g. MONGODB_URI=mongodb://127.0.0.1:27017/),",
      "or allow mongodb-memory-server to download mongod, or put Go on the PATH for the FerretDB fallback.",
    ].join("\n"),
  );
}

async function tryMemoryServer(options: LocalMongoOptions): Promise<LocalMongo | string> {
  try {
    const { MongoMemoryServer } = await import("mongodb-memory-server-core");
    const server = await MongoMemoryServer.create({
      instance: { ip: "127.0.0.1", dbPath: options.dataDir, storageEngine: "wiredTiger" },
    });
    return { uri: server.getUri(), source: "mongodb-memory-server", stop: async () => void (await server.stop()) };
  } catch (error) {
    return firstLine(error);
  }
}

async function tryFerretDb(options: LocalMongoOptions): Promise<LocalMongo | string> {
  const env = { ...process.env, ...options.env, FERRETDB_KEEP_DATA: options.keepData ? "1" : "0" };
  try {
    await run("go", ["version"], { env });
  } catch {
    return "Go is not on the PATH";
  }
  options.log("starting FerretDB (the first start builds it with Go: about a minute)");
  try {
    const { stdout } = await run("bash", [ferretScript, "start"], { env, maxBuffer: 16 * 1024 * 1024 });
    const uri = /export MONGODB_URI=(\S+)/.exec(stdout)?.[1];
    if (!uri) return `scripts/ferretdb.sh printed no MONGODB_URI: ${stdout.trim()}`;
    return { uri, source: "ferretdb", stop: async () => void (await run("bash", [ferretScript, "stop"], { env })) };
  } catch (error) {
    return firstLine(error);
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n").find((line) => line.trim() !== "") ?? text;
}
