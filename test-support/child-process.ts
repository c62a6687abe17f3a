import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/**
 * Runs a test-support TypeScript entry (`node --import tsx`) as a child process and resolves once
 * its stdout matches `ready` (with the match), or rejects with its stderr when it exits first or
 * not in time. `detached` makes it a process-group leader, so a test can kill the whole group.
 */
export async function startChild(
  entry: string,
  env: NodeJS.ProcessEnv,
  opts: { ready?: RegExp; detached?: boolean; timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, entry)], { cwd: ROOT, env, detached: opts.detached ?? false, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => (err += String(d)));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start: ${err}`)), opts.timeoutMs ?? 60_000);
    let out = "";
    child.stdout!.on("data", (d) => {
      out += String(d);
      const m = (opts.ready ?? /ready/).exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once("exit", (code) => reject(new Error(`${entry} exited ${code}: ${err}`)));
  });
  return { child, match };
}

/** SIGKILLs a detached child's whole process group and waits for the child to exit. */
export async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(-child.pid!, "SIGKILL");
  await exited;
}
