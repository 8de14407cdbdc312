import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * The Redis-backed tests start their own `redis-server` (Debian's package). On a machine
 * without it, install it when we can do so unattended (root with apt-get, as on CI and
 * this team's workstations); otherwise say what to install.
 */
export async function ensureRedisServer(env: Record<string, string | undefined>, log: (line: string) => void): Promise<void> {
  if (env.REDIS_SERVER_BIN || (await found("redis-server"))) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !(await found("apt-get"))) {
    throw new Error("redis-server is not installed: install the Debian package redis-server (apt-get install redis-server) or set REDIS_SERVER_BIN");
  }
  log("redis-server is not installed: installing Debian's package (apt-get install redis-server)");
  await run("apt-get", ["update", "-qq"], { maxBuffer: 64 * 1024 * 1024 });
  await run("apt-get", ["install", "-y", "-qq", "redis-server"], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function found(command: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}
