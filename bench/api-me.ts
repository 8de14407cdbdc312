import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { type Child, figure, freePort, log, spawnTs, stopChild, waitUntilOk } from "./common.js";

export interface HttpBenchOptions {
  mongoUri: string;
  dbName: string;
  /** Seeded user ids and a session token for each. */
  tokens: Map<string, string>;
  /** The Clerk variables (CLERK_JWT_KEY, keys, authorized parties, webhook secret). */
  clerkEnv: Record<string, string>;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Rounds of ours then the floor; the median and the worst ratio are reported. */
  rounds: number;
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Responses other than 200, plus socket errors and timeouts. */
  failed: number;
  /** The server process's CPU time (user + system) per request, when /proc tells it. */
  cpuPerRequestUs: number | undefined;
}

/**
 * `GET /api/me` through the real stack (`scripts/dev.ts`, every api/ module, Clerk's
 * middleware, rate limiter, logger, resolver) against the floor (bench/floor-server.ts),
 * one after the other with the same load, the same users and the same database.
 */
export async function benchApiMe(options: HttpBenchOptions): Promise<void> {
  const users = [...options.tokens.entries()].map(([id, token], index) => ({
    id,
    headers: {
      authorization: `Bearer ${token}`,
      // One client address per user, as Vercel's proxy reports it: the per-IP limit is per user too.
      "x-real-ip": `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
    },
  }));
  const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, MONGODB_URI: options.mongoUri, MONGODB_DB_NAME: options.dbName };
  const [mePort, floorPort] = [await freePort(), await freePort()];

  const servers: Child[] = [];
  try {
    const me = spawnTs("api", ["scripts/dev.ts"], {
      ...baseEnv,
      ...options.clerkEnv,
      PORT: String(mePort),
      // Nothing may call Clerk's Backend API here: every user is seeded, and a miss must fail fast.
      CLERK_API_URL: "http://127.0.0.1:9",
      INNGEST_DEV: "1",
      LOG_LEVEL: "silent",
      RATE_LIMIT_PER_USER_PER_MINUTE: "100000",
      RATE_LIMIT_PER_IP_PER_MINUTE: "100000",
    });
    const floor = spawnTs("floor", ["bench/floor-server.ts"], { ...baseEnv, PORT: String(floorPort) });
    servers.push(me, floor);

    const meUrl = `http://localhost:${mePort}`;
    const floorUrl = `http://localhost:${floorPort}`;
    await waitUntilOk(`${meUrl}/api/me`, users[0]!.headers, me);
    await waitUntilOk(`${floorUrl}/floor`, { "x-user-id": users[0]!.id }, floor);

    // Ours and the floor interleaved (A/B/A/B): a machine that gets busier mid-run weighs on both.
    const rounds: { me: LoadResult; floor: LoadResult }[] = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      const meResult = await load("me", me, meUrl, "/api/me", (user) => user.headers, users, options);
      // Same request bytes as /api/me (the token is sent but ignored), plus the id in the clear.
      const floorResult = await load("floor", floor, floorUrl, "/floor", (user) => ({ ...user.headers, "x-user-id": user.id }), users, options);
      rounds.push({ me: meResult, floor: floorResult });
      log(`round ${round}/${options.rounds}: me ${Math.round(meResult.rps)} req/s, floor ${Math.round(floorResult.rps)} req/s, ratio ${(meResult.rps / floorResult.rps).toFixed(2)}`);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
    for (const name of ["me", "floor"] as const) {
      const results = rounds.map((round) => round[name]);
      figure(`${name}_rps`, median(results.map((result) => result.rps)), "req/s", 0);
      figure(`${name}_p50`, median(results.map((result) => result.p50)), "ms");
      figure(`${name}_p99`, median(results.map((result) => result.p99)), "ms");
      figure(`${name}_non200`, results.reduce((sum, result) => sum + result.failed, 0), "requests");
      const cpu = results.flatMap((result) => (result.cpuPerRequestUs === undefined ? [] : [result.cpuPerRequestUs]));
      if (cpu.length > 0) figure(`${name}_server_cpu`, median(cpu), "us/req", 0);
    }
    const ratios = rounds.map((round) => round.me.rps / round.floor.rps);
    figure("me_vs_floor_rounds", rounds.length, "rounds");
    figure("me_vs_floor_throughput_ratio", median(ratios), "ratio");
    figure("me_vs_floor_throughput_ratio_worst", Math.min(...ratios), "ratio");
    const cpuRatios = rounds.flatMap((round) => (round.me.cpuPerRequestUs && round.floor.cpuPerRequestUs ? [round.me.cpuPerRequestUs / round.floor.cpuPerRequestUs] : []));
    if (cpuRatios.length > 0) figure("me_vs_floor_server_cpu_worst", Math.max(...cpuRatios), "x");
    if (rounds.some((round) => round.me.failed > 0 || round.floor.failed > 0)) {
      process.exitCode = 1;
      log("some requests did not answer 200: the throughput figures above are not valid");
    }
  } finally {
    await Promise.all(servers.map((server) => stopChild(server.process)));
  }
}

/** User + system CPU time of a process in ms (Linux /proc, 100 ticks a second), or undefined elsewhere. */
function cpuTimeMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function load<U>(
  name: string,
  server: Child,
  url: string,
  path: string,
  headersFor: (user: U) => Record<string, string>,
  users: U[],
  options: HttpBenchOptions,
): Promise<LoadResult> {
  // Round robin over every user, shared by all connections: no hot document.
  let next = 0;
  const run = (limit: { duration: number } | { amount: number }) =>
    autocannon({
      url,
      connections: options.connections,
      ...limit,
      requests: [{ method: "GET", setupRequest: (req) => ({ ...req, path, headers: headersFor(users[next++ % users.length]!) }) }],
    });
  log(`${name}: warm-up (every user once, then ${options.warmupSeconds} s), then ${options.durationSeconds} s, ${options.connections} connections`);
  // Every user once first: the API's first request per user also writes `lastSeenAt` (then once
  // per LAST_SEEN_INTERVAL_SECONDS), which is not the steady state being measured.
  const firstPass = await run({ amount: users.length });
  const warmup = await run({ duration: options.warmupSeconds });
  log(`${name}: first pass ${Math.round(firstPass.requests.average)} req/s, warm-up ${Math.round(warmup.requests.average)} req/s, ${firstPass.non2xx + warmup.non2xx} non-2xx`);
  const cpuBefore = cpuTimeMs(server.process.pid);
  const result = await run({ duration: options.durationSeconds });
  const cpuAfter = cpuTimeMs(server.process.pid);
  const ok = result.statusCodeStats?.["200"]?.count ?? 0;
  const answered = Object.values(result.statusCodeStats ?? {}).reduce((sum, stats) => sum + (stats.count ?? 0), 0);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: answered - ok + result.errors + result.timeouts,
    cpuPerRequestUs: cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1_000) / result.requests.total,
  };
}
