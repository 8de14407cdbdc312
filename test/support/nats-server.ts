import { readFile } from "node:fs/promises";
import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { acceptsConnections, findServerBinary, freePort, waitFor } from "./server-process.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appEventsStream, type AppEventName } from "../../lib/nats/app-event-subjects.js";
import { connectionOptionsFor, parseNatsUrl } from "../../lib/nats/nats-url.js";

export interface NatsServerOptions {
  /** Require this user and password (to check credentials in the URL are used, and never logged). */
  auth?: { user: string; pass: string };
}

/**
 * A throwaway `nats-server -js` on 127.0.0.1 and a free port, storing JetStream in its own
 * temporary directory. `stop()` kills it (as a crash would); `start()` brings it back on the
 * same port and store, with the stream and its messages; `pause()` / `resume()` freeze it
 * (the socket stays open, nothing answers).
 */
export async function startNatsServer(options: NatsServerOptions = {}) {
  const bin = findServerBinary("nats-server", "NATS_SERVER_BIN", "nats-server");
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), "nats-js-"));
  let child: ChildProcess | undefined;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  /** Starts nats-server unless it is already running; resolves once it accepts connections. */
  async function start() {
    if (running()) return;
    let output = "";
    const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir];
    if (options.auth) args.push("--user", options.auth.user, "--pass", options.auth.pass);
    const started = spawn(bin, args);
    child = started;
    started.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const spawnFailed = once(started, "error").then(([error]) => {
      throw new Error(`cannot start ${bin}: ${String(error)}`);
    });
    const ready = waitFor(async () => {
      if (started.exitCode !== null) throw new Error(`nats-server exited with ${started.exitCode}:\n${output}`);
      // JetStream (and the streams in the store) is recovered before the client port opens.
      return output.includes("Server is ready") && (await acceptsConnections(port));
    }, `nats-server on port ${port}`);
    await Promise.race([ready, spawnFailed]);
  }

  async function stop() {
    if (!child || !running()) return;
    const exited = once(child, "exit");
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited;
  }

  await start();
  return {
    url: options.auth ? `nats://${options.auth.user}:${options.auth.pass}@127.0.0.1:${port}` : `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    start,
    stop,
    /** Freezes the server, and returns once the kernel reports it stopped (a signal is delivered asynchronously). */
    pause: async () => {
      const pid = child?.pid;
      child?.kill("SIGSTOP");
      if (!pid) return;
      for (let i = 0; i < 200; i += 1) {
        const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
        if (/^\d+ \(.*\) T/.test(stat)) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error("nats-server did not stop on SIGSTOP");
    },
    resume: () => child?.kill("SIGCONT"),
    /** Stops the server and deletes its store. */
    async close() {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

export type NatsServer = Awaited<ReturnType<typeof startNatsServer>>;

/** Runs `work` with a JetStream manager on its own connection (the test's view of the broker). */
export async function withJetStream<T>(url: string, work: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const nc = await natsConnect({ ...connectionOptionsFor(parseNatsUrl(url)), timeout: 2_000, reconnect: false });
  try {
    return await work(await jetstreamManager(nc, { timeout: 2_000 }));
  } finally {
    await nc.close();
  }
}

export interface StoredAppEventMessage {
  seq: number;
  subject: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** Every message the app events stream holds, in stream order (`[]` when there is no stream). */
export function readAppEventsStream(url: string): Promise<StoredAppEventMessage[]> {
  return withJetStream(url, async (jsm) => {
    const info = await jsm.streams.info(appEventsStream).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return null;
      throw error;
    });
    if (!info || info.state.messages === 0) return [];
    const messages: StoredAppEventMessage[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq += 1) {
      const stored = await jsm.streams.getMessage(appEventsStream, { seq });
      if (!stored) continue;
      const headers = Object.fromEntries([...stored.header].map(([key, values]) => [key, values.join(",")]));
      messages.push({ seq: stored.seq, subject: stored.subject, headers, body: stored.json<Record<string, unknown>>() });
    }
    return messages;
  });
}

/** Deletes the app events stream if it exists (between tests). */
export function deleteAppEventsStream(url: string): Promise<void> {
  return withJetStream(url, async (jsm) => {
    await jsm.streams.delete(appEventsStream).catch((error: unknown) => {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return;
      throw error;
    });
  });
}

/** App events as the sync emits them (valid against inngest/events.ts), with their deterministic ids. */
export function appEventFixture(name: AppEventName, userId = "user_1", ts = Date.UTC(2026, 0, 1)) {
  const occurredAt = new Date(ts).toISOString();
  const sync = { v: 1, userId, source: "webhook", sourceEventId: `msg_${userId}`, occurredAt } as const;
  const user = {
    email: `${userId}@example.com`,
    firstName: "Ada",
    lastName: "Lovelace",
    username: null,
    imageUrl: null,
    publicMetadata: {},
    banned: false,
    locked: false,
    clerkUpdatedAt: occurredAt,
  };
  const session = { v: 1, userId, sessionId: `sess_${userId}`, occurredAt } as const;
  const organizationSync = { v: 1, organizationId: `org_${userId}`, source: "webhook", sourceEventId: `msg_org_${userId}`, occurredAt } as const;
  const membershipSync = { ...organizationSync, userId } as const;
  const organization = { name: "Acme", slug: "acme", imageUrl: null, publicMetadata: {}, membersCount: 1, clerkUpdatedAt: occurredAt };
  const membership = { role: "org:admin", permissions: ["org:sys_memberships:manage"], publicMetadata: {}, clerkUpdatedAt: occurredAt };
  switch (name) {
    case "app/user.created":
      return { id: `app/user.created:${userId}`, name, ts, data: { ...sync, user } };
    case "app/user.updated":
      return { id: `app/user.updated:${userId}:${ts}`, name, ts, data: { ...sync, changedFields: ["firstName"], user } };
    case "app/user.deleted":
      return { id: `app/user.deleted:${userId}`, name, ts, data: sync };
    case "app/user.signed_in":
      return { id: `app/user.signed_in:sess_${userId}`, name, ts, data: { ...session, clientIp: "203.0.113.7", userAgent: "vitest" } };
    case "app/user.signed_out":
      return { id: `app/user.signed_out:sess_${userId}`, name, ts, data: { ...session, reason: "ended" } };
    case "app/organization.created":
      return { id: `app/organization.created:org_${userId}`, name, ts, data: { ...organizationSync, organization } };
    case "app/organization.updated":
      return { id: `app/organization.updated:org_${userId}:${ts}`, name, ts, data: { ...organizationSync, changedFields: ["name"], organization } };
    case "app/organization.deleted":
      return { id: `app/organization.deleted:org_${userId}`, name, ts, data: organizationSync };
    case "app/membership.created":
      return { id: `app/membership.created:org_${userId}:${userId}:orgmem_${userId}`, name, ts, data: { ...membershipSync, membership } };
    case "app/membership.updated":
      return { id: `app/membership.updated:org_${userId}:${userId}:orgmem_${userId}:${ts}`, name, ts, data: { ...membershipSync, changedFields: ["role"], membership } };
    case "app/membership.deleted":
      return { id: `app/membership.deleted:org_${userId}:${userId}:orgmem_${userId}`, name, ts, data: { ...membershipSync, reason: "removed" } };
  }
}

export { waitFor };
