import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Servers the tests start themselves, from Debian's packages. */
const servers = [
  { binary: "redis-server", overrideEnv: "REDIS_SERVER_BIN", debianPackage: "redis-server" },
  { binary: "nats-server", overrideEnv: "NATS_SERVER_BIN", debianPackage: "nats-server" },
] as const;

/**
 * The Redis and NATS tests start their own `redis-server` and `nats-server -js`. On a machine
 * without them, install them when we can do so unattended (root with apt-get, as on CI and
 * this team's workstations); otherwise say what to install.
 */
export async function ensureTestServers(env: Record<string, string | undefined>, log: (line: string) => void): Promise<void> {
  const missing = [];
  for (const server of servers) {
    if (!env[server.overrideEnv] && !(await found(server.binary))) missing.push(server);
  }
  if (missing.length === 0) return;
  const packages = missing.map((server) => server.debianPackage);
  if (process.getuid?.() !== 0 || !(await found("apt-get"))) {
    throw new Error(
      `not installed: ${packages.join(", ")}. Install the Debian packages (apt-get install ${packages.join(" ")}) ` +
        `or set ${missing.map((server) => server.overrideEnv).join(" / ")}`,
    );
  }
  log(`installing Debian's ${packages.join(", ")} (apt-get install)`);
  await run("apt-get", ["update", "-qq"], { maxBuffer: 64 * 1024 * 1024 });
  await run("apt-get", ["install", "-y", "-qq", ...packages], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function found(command: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${command} || test -x /usr/sbin/${command}`]);
    return true;
  } catch {
    return false;
  }
}
