import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * The Vercel CLI that `npm run check:deploy` and the cold-start bench build with. Pinned, and
 * kept out of the project's dependencies (it brings ~290 packages the app never loads): it is
 * installed once into a cache directory and reused.
 */
const vercelCliVersion = "64.0.2";

/**
 * vercel@64.0.2 depends on `sandbox@4.4.0`, which the npm registry does not have (install
 * fails with ETARGET); 4.5.0 is the nearest published version. An npm `overrides` entry in the
 * cache directory's own package.json is the only way to install it.
 */
const overrides = { sandbox: "4.5.0" };

const manifest = `${JSON.stringify(
  {
    name: "clerk-mongo-sync-vercel-cli",
    private: true,
    description: "The pinned Vercel CLI for npm run check:deploy and bench/cold-start.ts (written by scripts/deploy/vercel-cli.ts)",
    dependencies: { vercel: vercelCliVersion },
    overrides,
  },
  null,
  2,
)}\n`;

/** Written last, so a directory without it is a failed or interrupted install. */
const completeMarker = ".install-complete";

function vercelCliDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(cacheHome, "clerk-mongo-sync", `vercel-cli-${vercelCliVersion}`);
}

export interface VercelCli {
  /** The CLI's entry script: run it with `process.execPath`. */
  bin: string;
  /** `@vercel/node`'s local server for a built function (what `vercel dev` runs), from the same CLI. */
  devServer: string;
  dir: string;
}

function installed(dir: string): VercelCli | undefined {
  try {
    if (readFileSync(join(dir, "package.json"), "utf8") !== manifest || !existsSync(join(dir, completeMarker))) return undefined;
    const pkg = JSON.parse(readFileSync(join(dir, "node_modules/vercel/package.json"), "utf8")) as { version?: string };
    if (pkg.version !== vercelCliVersion) return undefined;
  } catch {
    return undefined;
  }
  const cli = {
    dir,
    bin: join(dir, "node_modules/vercel/dist/vc.js"),
    devServer: join(dir, "node_modules/@vercel/node/dist/dev-server.mjs"),
  };
  return existsSync(cli.bin) && existsSync(cli.devServer) ? cli : undefined;
}

/**
 * The pinned CLI, installed with npm into `$XDG_CACHE_HOME/clerk-mongo-sync/vercel-cli-<version>`
 * (default `~/.cache/...`) on first use: the only network access this needs, to the npm registry.
 * The install goes to a scratch directory renamed into place, so an interrupted one is never reused.
 */
export async function ensureVercelCli(log: (line: string) => void): Promise<VercelCli> {
  const dir = vercelCliDir();
  const ready = installed(dir);
  if (ready) return ready;

  const scratch = `${dir}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  writeFileSync(join(scratch, "package.json"), manifest);
  log(`installing vercel@${vercelCliVersion} into ${dir} (once; npm install, ~20 s)`);
  const started = performance.now();
  try {
    const npm = spawn("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: scratch,
      env: { ...process.env, NO_UPDATE_NOTIFIER: "1", npm_config_update_notifier: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(npm, "exit")) as [number | null];
    if (code !== 0) throw new Error(`npm install vercel@${vercelCliVersion} failed (exit ${code}):\n${output.trim().split("\n").slice(-30).join("\n")}`);
    writeFileSync(join(scratch, completeMarker), `${new Date().toISOString()}\n`);
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(scratch, dir);
    } catch (error) {
      // Another run finished first: use its install if it is whole.
      if (!installed(dir)) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const cli = installed(dir);
  if (!cli) throw new Error(`vercel@${vercelCliVersion} installed into ${dir}, but its entry points are missing`);
  log(`vercel@${vercelCliVersion} installed in ${Math.round((performance.now() - started) / 1000)} s`);
  return cli;
}
