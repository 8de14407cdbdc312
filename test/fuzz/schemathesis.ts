import { execFile } from "node:child_process";
import { access, constants, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The schemathesis release the fuzz run is written against (check names, CLI flags, report format). */
export const schemathesisVersion = "4.32.5";

/**
 * `st` from a virtualenv under ~/.cache/clerk-mongo-sync/, made and filled from PyPI on first use
 * (`SCHEMATHESIS_BIN` overrides it). Debian's python3 lacks `venv`/`ensurepip` without the
 * `python3-venv` package: as root with apt-get (CI), it is installed; otherwise the error says so.
 */
export async function ensureSchemathesis(log: (line: string) => void): Promise<string> {
  if (process.env.SCHEMATHESIS_BIN) return process.env.SCHEMATHESIS_BIN;
  const venv = join(process.env.CLERK_MONGO_SYNC_CACHE ?? join(homedir(), ".cache", "clerk-mongo-sync"), `schemathesis-${schemathesisVersion}`);
  const st = join(venv, "bin", "st");
  if (await executable(st)) return st;

  log(`installing schemathesis ${schemathesisVersion} into ${venv}`);
  if (!(await canMakeVenv())) await installPythonVenv(log);
  await rm(venv, { recursive: true, force: true });
  try {
    await run("python3", ["-m", "venv", venv]);
    await run(join(venv, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", `schemathesis==${schemathesisVersion}`], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    await rm(venv, { recursive: true, force: true });
    throw new Error(`could not install schemathesis ${schemathesisVersion} from PyPI: ${describe(error)}`);
  }
  return st;
}

async function canMakeVenv(): Promise<boolean> {
  try {
    await run("python3", ["-c", "import venv, ensurepip"]);
    return true;
  } catch {
    return false;
  }
}

async function installPythonVenv(log: (line: string) => void): Promise<void> {
  const root = process.getuid?.() === 0;
  if (!root || !(await executable("/usr/bin/apt-get"))) {
    throw new Error("python3 with the venv module is required: install Debian's python3-venv (apt-get install python3-venv), or set SCHEMATHESIS_BIN");
  }
  log("installing Debian's python3-venv (apt-get install)");
  await run("apt-get", ["update", "-qq"], { maxBuffer: 64 * 1024 * 1024 });
  await run("apt-get", ["install", "-y", "-qq", "python3-venv"], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  if (error && typeof error === "object" && "stderr" in error && typeof error.stderr === "string" && error.stderr.trim()) return error.stderr.trim().split("\n").slice(-5).join("\n");
  return error instanceof Error ? error.message : String(error);
}
