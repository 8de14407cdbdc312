import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "inngest/node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInngestClient, isEventApiSend, sendAttemptTimeoutMs, sendOrFailFast } from "../../../lib/events/inngest-client.js";
import { createLogger } from "../../../lib/logger.js";
import { DeadlineExceededError } from "../../../lib/with-deadline.js";
import { serveHandler } from "../../support/http.js";
import { testInngestConfig } from "../../support/inngest.js";

/**
 * Inngest at its HTTP boundary, on 127.0.0.1: the Event API (`POST /e/:key`) and the
 * registration endpoint (`POST /fn/register`), each counting the requests it gets and
 * answering as the test says (accept, fail with 500, hang; registration after a delay).
 */
type Mode = "accept" | "fail" | "hang";
const inngestCloud = {
  mode: "accept" as Mode,
  registerDelayMs: 0,
  sends: 0,
  registrations: 0,
  hung: [] as IncomingMessage[],
};
let server: Server;
let baseUrl: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url?.startsWith("/fn/register")) {
        inngestCloud.registrations += 1;
        setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, modified: true })), inngestCloud.registerDelayMs);
        return;
      }
      inngestCloud.sends += 1;
      if (inngestCloud.mode === "hang") return void inngestCloud.hung.push(req);
      if (inngestCloud.mode === "fail") return void res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "down", status: 500 }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ids: ["evt_1"], status: 200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);
beforeEach(() => {
  Object.assign(inngestCloud, { mode: "accept", registerDelayMs: 0, sends: 0, registrations: 0 });
});

const client = () => createInngestClient({ ...testInngestConfig, baseUrl }, createLogger("silent"));
const event = { name: "app/user.resync.requested", data: { userId: "user_1" } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("sendOrFailFast: an API request waiting on Inngest gets its answer within 500 ms", () => {
  it("sends when Inngest takes the event", async () => {
    await expect(sendOrFailFast(client(), event)).resolves.toEqual({ ids: ["evt_1"] });
    expect(inngestCloud.sends).toBe(1);
  });

  it("gives up on the first failed attempt, and the SDK's later retries never reach Inngest", async () => {
    inngestCloud.mode = "fail";
    const started = performance.now();
    await expect(sendOrFailFast(client(), event)).rejects.toThrow(/500/);
    expect(performance.now() - started).toBeLessThan(300);
    await sleep(1_000); // the SDK's retries would have come 100, 300 and 700 ms later
    expect(inngestCloud.sends).toBe(1);
  });

  it("gives up after the deadline when Inngest hangs", async () => {
    inngestCloud.mode = "hang";
    const started = performance.now();
    await expect(sendOrFailFast(client(), event, { deadlineMs: 200 })).rejects.toBeInstanceOf(DeadlineExceededError);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(450);
    await sleep(500);
    expect(inngestCloud.sends).toBe(1);
  });

  it("gives up at once when nothing listens", async () => {
    const unreachable = createInngestClient({ ...testInngestConfig, baseUrl: "http://127.0.0.1:9/" }, createLogger("silent"));
    const started = performance.now();
    await expect(sendOrFailFast(unreachable, event)).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(450);
  });

  it("leaves plain sends (webhooks, the outbox) with the SDK's retries", async () => {
    inngestCloud.mode = "fail";
    const inngest = client();
    const sending = inngest.send(event);
    await sleep(400);
    inngestCloud.mode = "accept";
    await expect(sending).resolves.toEqual({ ids: ["evt_1"] });
    expect(inngestCloud.sends).toBeGreaterThan(1);
  });
});

describe("the per-attempt send timeout applies to sends only", () => {
  it("recognises the Event API's URL and nothing else", () => {
    expect(isEventApiSend("https://inn.gs/e/key_123", { method: "POST" })).toBe(true);
    expect(isEventApiSend(new URL("http://127.0.0.1:8288/e/dev"), { method: "POST" })).toBe(true);
    expect(isEventApiSend("https://api.inngest.com/fn/register", { method: "POST" })).toBe(false);
    expect(isEventApiSend("https://api.inngest.com/v0/runs/01H/actions", { method: "GET" })).toBe(false);
    expect(isEventApiSend("https://inn.gs/e/key_123", { method: "GET" })).toBe(false);
  });

  it("a registration slower than the send timeout still succeeds through the real serve handler", async () => {
    inngestCloud.registerDelayMs = sendAttemptTimeoutMs + 500;
    const inngest = client();
    const fn = inngest.createFunction({ id: "noop", triggers: [{ event: "test/noop" }] }, async () => null);
    const endpoint = await serveHandler(serve({ client: inngest, functions: [fn] }));
    try {
      const response = await fetch(`${endpoint.url}/api/inngest`, { method: "PUT" });
      expect(inngestCloud.registrations).toBe(1);
      expect(await response.json()).toMatchObject({ modified: true });
      expect(response.status).toBe(200);
    } finally {
      await endpoint.close();
    }
  });
});
