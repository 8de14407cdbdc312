import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const redisPassword = "rl-test-password-7f3a";

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function findRedisServer(): string {
  const fromEnv = process.env.REDIS_SERVER_BIN;
  const candidates = fromEnv ? [fromEnv] : (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "redis-server"));
  const found = candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found) return found;
  throw new Error(
    `redis-server not found (${fromEnv ? `REDIS_SERVER_BIN=${fromEnv} is not executable` : "not on PATH"}). ` +
      "These tests run against a real Redis: install it with `apt-get install redis-server`, or set REDIS_SERVER_BIN.",
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const acceptsConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

/** A throwaway redis-server on 127.0.0.1, with a password so the tests can check it is never logged. */
export async function startRedisServer() {
  const bin = findRedisServer();
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
