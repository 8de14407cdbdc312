import { readFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import { type Child, figure, freePort, hostCpuBusyBetween, log, median, sampleHostCpu, spawnTs, stopChild, waitUntilOk } from "./common.js";

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
  /** When set, both servers run under `node --cpu-prof` and write their profiles under `me/` and `floor/` here on exit. */
  cpuProfileDir?: string;
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** Responses other than 200, plus socket errors and timeouts. */
  failed: number;
  /** The server process's CPU time (user + system) per request, when /proc tells it. */
  cpuPerRequestUs: number | undefined;
  /** How busy the whole machine was during the measured run (all CPUs, %), when /proc tells it. */
  hostBusyPercent: number | undefined;
}

/**
 * `GET /api/me` through the real stack against the floor (bench/floor-server.ts), with the
 * same load, the same users and the same database, in interleaved rounds (ours, the floor,
 * ours, ...), each round's ratio reported, then the median and the worst.
 *
 * Ours is `scripts/dev.ts` (what `npm run dev` runs): it imports every api/ module and calls
 * the default export of api/me/index.ts, the handler Vercel runs, with the production
 * pipeline (request id, CORS, Clerk's token check, rate limits, the resolver's read, the view).
 * Compared with a deployed function it adds a little, never removes: dev.ts matches the path
 * against every route and tsx compiles the TypeScript on the fly (Vercel routes outside the
 * function and ships compiled JavaScript). `vercel dev`'s server is not used: it proxies each
 * request through a second HTTP server in the same process, which production does not do.
 * The floor answers byte-identical bodies (checked after the first round).
 *
 * Server CPU per request is the server process's user + system time (/proc) over the measured
 * run divided by the requests it answered: on a machine shared with other work it is steadier
 * than throughput, which also depends on what else gets the CPUs.
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
    const profile = (name: string) => (options.cpuProfileDir ? ["--cpu-prof", "--cpu-prof-dir", join(options.cpuProfileDir, name)] : []);
    const me = spawnTs("api", [...profile("me"), "scripts/dev.ts"], {
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
    const floor = spawnTs("floor", [...profile("floor"), "bench/floor-server.ts"], { ...baseEnv, PORT: String(floorPort) });
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
      if (round === 1) await checkSameAnswers(meUrl, floorUrl, users.slice(0, 3));
      const cpu = (result: LoadResult) => (result.cpuPerRequestUs === undefined ? "?" : Math.round(result.cpuPerRequestUs));
      log(
        `round ${round}/${options.rounds}: me ${Math.round(meResult.rps)} req/s (${cpu(meResult)} us/req), ` +
          `floor ${Math.round(floorResult.rps)} req/s (${cpu(floorResult)} us/req), ratio ${(meResult.rps / floorResult.rps).toFixed(2)}`,
      );
    }
    reportRounds(rounds);
    if (rounds.some((round) => round.me.failed > 0 || round.floor.failed > 0)) {
      process.exitCode = 1;
      log("some requests did not answer 200: the throughput figures above are not valid");
    }
  } finally {
    await Promise.all(servers.map((server) => stopChild(server.process)));
  }
}

/**
 * The floor is only a floor if it answers what `GET /api/me` answers: the same status, content
 * type and body bytes for the same user (checked once every user's `lastSeenAt` has been
 * written, after the first round). A difference fails the bench.
 */
async function checkSameAnswers(meUrl: string, floorUrl: string, users: { id: string; headers: Record<string, string> }[]): Promise<void> {
  for (const user of users) {
    const [ours, floor] = await Promise.all([
      fetch(`${meUrl}/api/me`, { headers: user.headers }),
      fetch(`${floorUrl}/floor`, { headers: { ...user.headers, "x-user-id": user.id } }),
    ]);
    const [ourBody, floorBody] = [await ours.text(), await floor.text()];
    const same = ours.status === floor.status && ours.headers.get("content-type") === floor.headers.get("content-type") && ourBody === floorBody;
    if (!same) {
      process.exitCode = 1;
      log(`the floor does not answer what GET /api/me answers for ${user.id}:\n  ours  ${ours.status} ${ourBody}\n  floor ${floor.status} ${floorBody}`);
      return;
    }
  }
  log(`the floor answers the same status, content type and body bytes as GET /api/me for ${users.length} users`);
}

/**
 * Each round's figures, then the summary the issue asks for: ours over the floor per round, its
 * median and its worst (the lowest throughput ratio, the highest server-CPU ratio), with each
 * side's server CPU per request and how busy the machine was while each was measured.
 */
function reportRounds(rounds: { me: LoadResult; floor: LoadResult }[]): void {
  rounds.forEach((round, index) => {
    const n = index + 1;
    figure(`me_rps_round${n}`, round.me.rps, "req/s", 0);
    figure(`floor_rps_round${n}`, round.floor.rps, "req/s", 0);
    figure(`me_vs_floor_throughput_ratio_round${n}`, round.me.rps / round.floor.rps, "ratio");
    if (round.me.cpuPerRequestUs !== undefined) figure(`me_server_cpu_round${n}`, round.me.cpuPerRequestUs, "us/req", 0);
    if (round.floor.cpuPerRequestUs !== undefined) figure(`floor_server_cpu_round${n}`, round.floor.cpuPerRequestUs, "us/req", 0);
    if (round.me.cpuPerRequestUs && round.floor.cpuPerRequestUs) {
      figure(`me_vs_floor_server_cpu_round${n}`, round.me.cpuPerRequestUs / round.floor.cpuPerRequestUs, "x");
    }
    if (round.me.hostBusyPercent !== undefined) figure(`host_cpu_busy_during_me_round${n}`, round.me.hostBusyPercent, "%", 0);
    if (round.floor.hostBusyPercent !== undefined) figure(`host_cpu_busy_during_floor_round${n}`, round.floor.hostBusyPercent, "%", 0);
  });
  for (const name of ["me", "floor"] as const) {
    const results = rounds.map((round) => round[name]);
    figure(`${name}_rps`, median(results.map((result) => result.rps)), "req/s", 0);
    figure(`${name}_p50`, median(results.map((result) => result.p50)), "ms");
    figure(`${name}_p99`, median(results.map((result) => result.p99)), "ms");
    figure(`${name}_non200`, results.reduce((sum, result) => sum + result.failed, 0), "requests");
    const cpu = results.flatMap((result) => (result.cpuPerRequestUs === undefined ? [] : [result.cpuPerRequestUs]));
    if (cpu.length > 0) {
      figure(`${name}_server_cpu`, median(cpu), "us/req", 0);
      figure(`${name}_server_cpu_worst`, Math.max(...cpu), "us/req", 0);
    }
  }
  const ratios = rounds.map((round) => round.me.rps / round.floor.rps);
  figure("me_vs_floor_rounds", rounds.length, "rounds");
  figure("me_vs_floor_throughput_ratio", median(ratios), "ratio");
  figure("me_vs_floor_throughput_ratio_worst", Math.min(...ratios), "ratio");
  const cpuRatios = rounds.flatMap((round) => (round.me.cpuPerRequestUs && round.floor.cpuPerRequestUs ? [round.me.cpuPerRequestUs / round.floor.cpuPerRequestUs] : []));
  if (cpuRatios.length > 0) {
    figure("me_vs_floor_server_cpu", median(cpuRatios), "x");
    figure("me_vs_floor_server_cpu_worst", Math.max(...cpuRatios), "x");
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
  const hostBefore = sampleHostCpu();
  const cpuBefore = cpuTimeMs(server.process.pid);
  const result = await run({ duration: options.durationSeconds });
  const cpuAfter = cpuTimeMs(server.process.pid);
  const hostBusyPercent = hostCpuBusyBetween(hostBefore, sampleHostCpu());
  const ok = result.statusCodeStats?.["200"]?.count ?? 0;
  const answered = Object.values(result.statusCodeStats ?? {}).reduce((sum, stats) => sum + (stats.count ?? 0), 0);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: answered - ok + result.errors + result.timeouts,
    cpuPerRequestUs: cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1_000) / result.requests.total,
    hostBusyPercent,
  };
}
