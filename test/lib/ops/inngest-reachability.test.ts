import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cachedInngestProbe, type InngestReachability, probeInngest } from "../../../lib/ops/inngest-reachability.js";
import { startInngestEventApi } from "../../support/inngest-event-api.js";

let eventApi: Awaited<ReturnType<typeof startInngestEventApi>>;
/** An Event API that is up but broken (5xx on every route), and one that accepts the connection and never answers. */
let broken: Server;
let hanging: Server;
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const listen = async (server: Server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

beforeAll(async () => {
  eventApi = await startInngestEventApi();
  broken = createServer((_req, res) => res.writeHead(502).end("bad gateway"));
  hanging = createServer(() => {});
  await Promise.all([listen(broken), listen(hanging)]);
});
afterAll(async () => {
  for (const server of [broken, hanging]) server.closeAllConnections();
  await Promise.all([eventApi.close(), ...[broken, hanging].map((server) => new Promise((resolve) => server.close(resolve)))]);
});

/** A port nothing listens on: one the OS just gave and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await listen(server);
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("probeInngest: is Inngest's Event API reachable from here?", () => {
  it("is reachable when the Event API answers, whatever the route's status below 500", async () => {
    const result = await probeInngest({ eventApiUrl: eventApi.baseUrl, timeoutMs: 2_000 });
    expect(result).toMatchObject({ kind: "reachable", httpStatus: expect.any(Number), latencyMs: expect.any(Number), checkedAt: expect.any(Date) });
    // The probe sends no event.
    expect(eventApi.received).toHaveLength(0);
  });

  it("is unreachable when nothing listens, naming the network error", async () => {
    const result = await probeInngest({ eventApiUrl: `http://127.0.0.1:${await closedPort()}`, timeoutMs: 2_000 });
    expect(result).toMatchObject({ kind: "unreachable", reason: "ECONNREFUSED" });
  });

  it("is unreachable when the Event API answers 5xx", async () => {
    expect(await probeInngest({ eventApiUrl: urlOf(broken), timeoutMs: 2_000 })).toMatchObject({ kind: "unreachable", reason: "answered 502" });
  });

  it("gives up on an Event API that never answers after its time limit", async () => {
    expect(await probeInngest({ eventApiUrl: urlOf(hanging), timeoutMs: 200 })).toMatchObject({ kind: "unreachable", reason: "no answer within 200 ms" });
  });
});

describe("cachedInngestProbe", () => {
  it("probes once per period, and concurrent callers share one probe", async () => {
    let calls = 0;
    let clock = 0;
    const answer: InngestReachability = { kind: "reachable", checkedAt: new Date(0), httpStatus: 200, latencyMs: 1 };
    const probe = cachedInngestProbe(
      async () => {
        calls += 1;
        return answer;
      },
      60_000,
      () => clock,
    );
    await Promise.all([probe(), probe(), probe()]);
    clock = 59_999;
    await probe();
    expect(calls).toBe(1);
    clock = 60_000;
    await probe();
    expect(calls).toBe(2);
  });
});
