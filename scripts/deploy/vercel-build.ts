import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { ensureVercelCli, type VercelCli } from "./vercel-cli.js";

/**
 * `vercel build`, offline, on a copy of the repository: what a Git deploy of this tree would
 * produce (Build Output API v3, `.vercel/output`). Shared by `npm run check:deploy` and
 * `bench/cold-start.ts`.
 *
 * - The copy holds the files Git would deploy: tracked files plus untracked ones that are not
 *   ignored (so a new file counts before it is committed), never `.env`, `.data/`, `.vercel/`.
 * - `node_modules` is the repository's own, hard-linked into the copy (a plain copy where hard
 *   links are not possible), and the CLI is told the install is done: no registry access, and
 *   the same packages as `npm ci` put in CI. Vercel itself runs `npm install` from the lockfile.
 * - `.vercel/project.json` carries the project settings (those of a new project with the
 *   "Other" framework preset), so the CLI needs no login and never calls `vercel pull`.
 * - The CLI gets its own empty global config directory: no stored token is ever read.
 */

export interface VcConfig {
  handler?: string;
  runtime?: string;
  launcherType?: string;
  [key: string]: unknown;
}

export interface BuiltFunction {
  /** The function's path under `.vercel/output/functions`, without `.func`: `api/me/index`. */
  name: string;
  /** The public path it serves: `/api/me` (`[id]` segments left as they are). */
  route: string;
  /** The absolute `.func` directory (what Vercel mounts as the function's `/var/task`). */
  dir: string;
  /** `.vc-config.json`. */
  config: VcConfig;
  /** Total bytes of the files in the `.func` directory (uncompressed), and how many files. */
  bytes: number;
  files: number;
  /** Set when the `.func` entry is a symlink to another function (Vercel shares identical ones). */
  linkTarget?: string;
}

export interface VercelBuild {
  /** The copy of the repository the CLI built. */
  repoDir: string;
  /** `.vercel/output` in the copy. */
  outputDir: string;
  functions: BuiltFunction[];
  /** Files of `.vercel/output/static`, relative, `/`-separated, sorted. */
  staticFiles: string[];
  /** Files of `public/` in the copy, same form; `undefined` when there is no `public/`. */
  publicFiles: string[] | undefined;
  /** The copy's package.json. */
  packageJson: { engines?: { node?: string } };
  cli: VercelCli;
  buildMs: number;
  /** The CLI's output (stdout and stderr). */
  buildLog: string;
  /** How many files were copied, and how many of them are untracked (not yet committed). */
  copied: { files: number; untracked: number };
  /** Deletes the copy (and everything built); also done at process exit. */
  cleanup(): void;
}

export interface BuildOptions {
  repoRoot: string;
  log: (line: string) => void;
  /** Extra files written into the copy before the build (relative path → contents), e.g. a bench baseline function. */
  extraFiles?: Record<string, string>;
  /** Keep the copy for inspection (its path is logged). Also CHECK_DEPLOY_KEEP=1. */
  keep?: boolean;
}

/** Settings a new Vercel project gets with the "Other" preset: no framework, no overridden commands. */
const projectSettings = {
  framework: null,
  buildCommand: null,
  devCommand: null,
  installCommand: null,
  outputDirectory: null,
  rootDirectory: null,
};

const pendingCleanups = new Set<string>();
/** Process groups of running CLI builds: stopped before their directory is deleted. */
const runningBuilds = new Set<number>();
process.once("exit", () => {
  for (const pgid of runningBuilds) killGroup(pgid);
  for (const dir of pendingCleanups) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (error) {
      process.stderr.write(`could not delete ${dir}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Runs `vercel build --prod` on a copy of the repository and describes what it wrote. */
export async function vercelBuild(options: BuildOptions): Promise<VercelBuild> {
  const { repoRoot, log } = options;
  const keep = options.keep ?? process.env.CHECK_DEPLOY_KEEP === "1";
  if (!existsSync(join(repoRoot, "node_modules"))) throw new Error(`${repoRoot}/node_modules is missing: run npm ci first`);
  const cli = await ensureVercelCli(log);

  const scratch = mkdtempSync(join(tmpdir(), "clerk-mongo-sync-vercel-build-"));
  if (!keep) pendingCleanups.add(scratch);
  const cleanup = () => {
    if (keep) return;
    rmSync(scratch, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    pendingCleanups.delete(scratch);
  };
  try {
    const repoDir = join(scratch, "repo");
    const globalConfigDir = join(scratch, "vercel-global-config");
    mkdirSync(repoDir);
    mkdirSync(globalConfigDir);
    const copied = copyDeployableFiles(repoRoot, repoDir);
    for (const [path, contents] of Object.entries(options.extraFiles ?? {})) {
      mkdirSync(dirname(join(repoDir, path)), { recursive: true });
      writeFileSync(join(repoDir, path), contents);
    }
    linkNodeModules(join(repoRoot, "node_modules"), join(repoDir, "node_modules"));
    mkdirSync(join(repoDir, ".vercel"));
    writeFileSync(
      join(repoDir, ".vercel/project.json"),
      `${JSON.stringify({ orgId: "team_checkdeploy", projectId: "prj_checkdeploy", settings: projectSettings }, null, 2)}\n`,
    );
    log(`copied ${copied.files} files (${copied.untracked} not yet committed) to ${repoDir}${keep ? " (kept: CHECK_DEPLOY_KEEP)" : ""}`);

    const started = performance.now();
    const buildLog = await runCli(cli, repoDir, globalConfigDir, log);
    const buildMs = performance.now() - started;

    // Node resolves packages up the directory tree: with the copy's node_modules in place, a
    // function missing a traced file would still load here. Move it out of the way.
    renameSync(join(repoDir, "node_modules"), join(scratch, "node_modules-used-by-the-build"));
    const outputDir = join(repoDir, ".vercel/output");
    const functionsDir = join(outputDir, "functions");
    const functions = existsSync(functionsDir) ? findFunctions(functionsDir) : [];
    const staticDir = join(outputDir, "static");
    const staticFiles = existsSync(staticDir) ? listFiles(staticDir) : [];
    const publicDir = join(repoDir, "public");
    const publicFiles = existsSync(publicDir) && statSync(publicDir).isDirectory() ? listFiles(publicDir) : undefined;
    const packageJson = JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")) as VercelBuild["packageJson"];
    return { repoDir, outputDir, functions, staticFiles, publicFiles, packageJson, cli, buildMs, buildLog, copied, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

/** Tracked files plus untracked, non-ignored ones (what the next commit can hold); deleted ones skipped. */
function copyDeployableFiles(repoRoot: string, repoDir: string): { files: number; untracked: number } {
  const list = (args: string[]) =>
    execFileSync("git", ["ls-files", "-z", ...args], { cwd: repoRoot, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" })
      .split("\0")
      .filter(Boolean);
  const tracked = list(["--cached"]);
  const untracked = list(["--others", "--exclude-standard"]);
  let files = 0;
  for (const path of new Set([...tracked, ...untracked])) {
    const source = join(repoRoot, path);
    let stat;
    try {
      stat = lstatSync(source);
    } catch {
      continue; // deleted in the working tree
    }
    const target = join(repoDir, path);
    if (stat.isSymbolicLink()) {
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(readlinkSync(source), target);
    } else if (stat.isFile()) {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(source, target);
    } else {
      continue; // a submodule
    }
    files += 1;
  }
  return { files, untracked: untracked.filter((path) => existsSync(join(repoRoot, path))).length };
}

/** Hard links (`cp -al`, about a second) where the file system allows, a full copy otherwise. */
function linkNodeModules(source: string, target: string): void {
  try {
    execFileSync("cp", ["-al", source, target], { stdio: "ignore" });
    return;
  } catch {
    rmSync(target, { recursive: true, force: true });
  }
  cpSync(source, target, { recursive: true, verbatimSymlinks: true });
}

async function runCli(cli: VercelCli, repoDir: string, globalConfigDir: string, log: (line: string) => void): Promise<string> {
  // Nothing Vercel-specific from the caller's environment: no token, no linked project.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VERCEL|NOW_|__VERCEL)/.test(name)));
  Object.assign(env, {
    VERCEL_TELEMETRY_DISABLED: "1", // no telemetry events
    NO_UPDATE_NOTIFIER: "1", // no "is there a newer CLI" request
    // The install is done (node_modules is in the copy): without this @vercel/node runs `npm install`.
    VERCEL_INSTALL_COMPLETED: "1",
    FORCE_COLOR: "0",
    NO_COLOR: "1",
  });
  const args = [cli.bin, "build", "--yes", "--prod", "--no-color", "--global-config", globalConfigDir];
  log(`vercel build --prod (vercel@${JSON.parse(readFileSync(join(cli.dir, "node_modules/vercel/package.json"), "utf8")).version}, offline)`);
  // Its own process group, so the CLI and the builder processes it starts stop together.
  const child = spawn(process.execPath, args, { cwd: repoDir, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const pgid = child.pid!;
  runningBuilds.add(pgid);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => killGroup(pgid), 10 * 60_000);
  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    if (code !== 0) {
      throw new Error(`vercel build failed (${signal ?? `exit ${code}`}); its last output:\n${output.trim().split("\n").slice(-40).join("\n")}`);
    }
  } finally {
    clearTimeout(killer);
    killGroup(pgid); // builder processes left behind, if any
    runningBuilds.delete(pgid);
  }
  return output;
}

function findFunctions(functionsDir: string): BuiltFunction[] {
  const found: BuiltFunction[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.name.endsWith(".func")) {
        const name = relative(functionsDir, path).split(sep).join("/").replace(/\.func$/, "");
        const linkTarget = entry.isSymbolicLink() ? readlinkSync(path) : undefined;
        const config = JSON.parse(readFileSync(join(path, ".vc-config.json"), "utf8")) as VcConfig;
        const { bytes, files } = linkTarget ? { bytes: 0, files: 0 } : directorySize(path);
        const route = `/${name}`.replace(/\/index$/, "") || "/";
        found.push({ name, route, dir: path, config, bytes, files, ...(linkTarget && { linkTarget }) });
      } else if (entry.isDirectory()) {
        walk(path);
      }
    }
  };
  walk(functionsDir);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Bytes of every file (a symlink counts its own size), without following links. */
function directorySize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory()) continue;
    bytes += lstatSync(join(entry.parentPath, entry.name)).size;
    files += 1;
  }
  return { bytes, files };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}
