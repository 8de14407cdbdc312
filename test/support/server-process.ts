import { accessSync, constants } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** What the tests' own server processes (redis-server, nats-server) share. */

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * The server binary: `overrideEnv` if set, else PATH, else /usr/sbin and /usr/local/sbin (where
 * Debian puts some servers, often off a user's PATH). Fails saying what to install.
 */
export function findServerBinary(name: string, overrideEnv: string, debianPackage: string): string {
  const fromEnv = process.env[overrideEnv];
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  const candidates = fromEnv ? [fromEnv] : dirs.filter(Boolean).map((dir) => join(dir, name));
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
    `${name} not found (${fromEnv ? `${overrideEnv}=${fromEnv} is not executable` : "not on PATH nor in /usr/sbin"}). ` +
      `These tests run against a real ${name}: install it with \`apt-get install ${debianPackage}\`, or set ${overrideEnv}.`,
  );
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const acceptsConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
