import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { acceptsConnections, findServerBinary, freePort, waitFor } from "./server-process.js";

export const redisPassword = "rl-test-password-7f3a";

/** A throwaway redis-server on 127.0.0.1, with a password so the tests can check it is never logged. */
export async function startRedisServer() {
  const bin = findServerBinary("redis-server", "REDIS_SERVER_BIN", "redis-server");
  const port = await freePort();
  let child: ChildProcess | undefined;

  /** Starts redis-server unless it is already running. */
  async function start() {
    if (child && child.exitCode === null && child.signalCode === null) return;
    let output = "";
    const started = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", redisPassword]);
    child = started;
    started.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const spawnFailed = once(started, "error").then(([error]) => {
      throw new Error(`cannot start ${bin}: ${String(error)}`);
    });
    const ready = waitFor(async () => {
      if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}:\n${output}`);
      return acceptsConnections(port);
    }, `redis-server on port ${port}`);
    await Promise.race([ready, spawnFailed]);
  }

  async function stop() {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  await start();
  return {
    url: `redis://:${redisPassword}@127.0.0.1:${port}`,
    start,
    stop,
    signal: (signal: "SIGSTOP" | "SIGCONT") => child?.kill(signal),
  };
}

export { waitFor };
