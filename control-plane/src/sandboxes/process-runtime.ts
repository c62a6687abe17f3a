import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { promises as fs, openSync, closeSync, readFileSync } from "node:fs";
import path from "node:path";
import { AgentEnv } from "@concierge/protocol";
import type { Logger } from "../logger";
import { RuntimeError, type OpOptions, type RuntimeInstance, type SandboxRuntime, type SandboxSpec } from "./runtime";

export interface ProcessRuntimeOptions {
  /** DATA_DIR: sandboxes live under DATA_DIR/sandboxes/<user>. */
  dataDir: string;
  /** The agent's entry: sandbox-image/dist/main.js. */
  agentEntry: string;
  logger: Logger;
  nodePath?: string;
  /** Extra env for every agent (WORKSPACE_TEMPLATES_DIR on a checkout). */
  baseEnv?: Record<string, string>;
  /** PATH handed to agents (main passes the control plane's own, from config). */
  searchPath?: string;
}

interface SandboxFile {
  userId: string;
  sandboxId: string;
  image: string;
  configHash: string;
  env: Record<string, string>;
  memoryMb: number;
}
interface RunFile {
  pid: number;
  port: number;
  startedAt: string;
}

/**
 * A child process per user running the same agent with the same env and protocol, for machines
 * without a Docker daemon. Its registry is on disk (sandbox.json, run.json with the pid), so a
 * restarted control plane notices the ones that died. Each agent is its own process group (so a
 * signal to the control plane's group does not reach it) but holds a pipe from the control plane
 * on stdin and exits when it closes: unlike containers, agents never outlive the control plane
 * that started them, not even one killed by SIGKILL. No isolation beyond the OS user: this runtime
 * is for development and small single-user installs.
 */
export class ProcessRuntime implements SandboxRuntime {
  readonly kind = "process" as const;
  private readonly root: string;
  private readonly log: Logger;
  private readonly exitCodes = new Map<string, number | null>();
  /** Our end of each agent's stdin pipe: kept open while we live, closed by the kernel when we die. */
  private readonly lifelines = new Map<string, { destroy(): void }>();

  constructor(private readonly opts: ProcessRuntimeOptions) {
    this.root = path.resolve(opts.dataDir, "sandboxes");
    this.log = opts.logger.child({ component: "process-runtime" });
  }

  private dir(userId: string): string {
    return path.join(this.root, userId.replace(/[^A-Za-z0-9_.-]/g, "-"));
  }

  /** The user's data directory: the process runtime's volume. */
  dataDirOf(userId: string): string {
    return path.join(this.dir(userId), "data");
  }

  private async readJson<T>(file: string): Promise<T | null> {
    try {
      return JSON.parse(await fs.readFile(file, "utf8")) as T;
    } catch {
      return null;
    }
  }

  async create({ spec }: { spec: SandboxSpec; signal?: AbortSignal }): Promise<RuntimeInstance> {
    const dir = this.dir(spec.userId);
    await fs.mkdir(path.join(dir, "data"), { recursive: true, mode: 0o700 });
    const file: SandboxFile = {
      userId: spec.userId,
      sandboxId: spec.sandboxId,
      image: spec.image,
      configHash: spec.configHash,
      env: spec.env,
      memoryMb: spec.limits.memoryMb,
    };
    // "wx": like the daemon's unique container name, the first creator wins and the rest adopt.
    try {
      await fs.writeFile(path.join(dir, "sandbox.json"), JSON.stringify(file), { mode: 0o600, flag: "wx" });
      this.log.info({ userId: spec.userId, sandboxId: spec.sandboxId }, "created process sandbox");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new RuntimeError(`cannot create sandbox dir: ${(err as Error).message}`, err);
    }
    const found = await this.inspect({ userId: spec.userId });
    if (!found) throw new RuntimeError("process sandbox vanished right after create");
    return found;
  }

  async start({ userId }: OpOptions): Promise<RuntimeInstance> {
    // Two starters (two replicas, or a reconciler and an ensure) must not spawn two agents: the
    // daemon makes `docker start` idempotent; here a lock file does.
    return withLockFile(path.join(this.dir(userId), "start.lock"), () => this.startLocked(userId));
  }

  private async startLocked(userId: string): Promise<RuntimeInstance> {
    const current = await this.inspect({ userId });
    if (!current) throw new RuntimeError(`no process sandbox for ${userId}`);
    if (current.running) return current;
    const dir = this.dir(userId);
    const sbx = (await this.readJson<SandboxFile>(path.join(dir, "sandbox.json")))!;
    const port = await freePort();
    const env: Record<string, string> = {
      // Only what the agent needs: the control plane's own env (provider keys) never reaches it.
      PATH: this.opts.searchPath ?? "/usr/bin:/bin",
      HOME: dir,
      ...(this.opts.baseEnv ?? {}),
      ...sbx.env,
      [AgentEnv.port]: String(port),
      [AgentEnv.host]: "127.0.0.1",
      [AgentEnv.dataDir]: this.dataDirOf(userId),
      [AgentEnv.exitWithStdin]: "1",
    };
    const logFd = openSync(path.join(dir, "agent.log"), "a", 0o600);
    try {
      const child = spawn(this.opts.nodePath ?? process.execPath, [`--max-old-space-size=${sbx.memoryMb}`, this.opts.agentEntry], {
        cwd: dir,
        env,
        detached: true,
        stdio: ["pipe", logFd, logFd],
      });
      if (!child.pid) throw new RuntimeError("agent process did not start");
      const pid = child.pid;
      const lifeline = child.stdin!;
      lifeline.on("error", () => undefined); // the agent exiting first closes it from its side
      (lifeline as unknown as { unref?: () => void }).unref?.();
      this.lifelines.get(userId)?.destroy();
      this.lifelines.set(userId, lifeline);
      child.on("exit", (code, signal) => {
        if (this.lifelines.get(userId) === lifeline) this.lifelines.delete(userId);
        lifeline.destroy();
        this.exitCodes.set(userId, code ?? (signal ? 128 : null));
        this.log.info({ userId, pid, code, signal }, "agent process exited");
      });
      child.unref();
      this.exitCodes.delete(userId);
      const run: RunFile = { pid, port, startedAt: new Date().toISOString() };
      await fs.writeFile(path.join(dir, "run.json"), JSON.stringify(run), { mode: 0o600 });
    } finally {
      closeSync(logFd);
    }
    const found = await this.inspect({ userId });
    if (!found) throw new RuntimeError(`process sandbox for ${userId} vanished`);
    return found;
  }

  async stop({ userId, timeoutSeconds = 10 }: OpOptions & { timeoutSeconds?: number }): Promise<void> {
    if (!(await this.readJson<SandboxFile>(path.join(this.dir(userId), "sandbox.json")))) return;
    await withLockFile(path.join(this.dir(userId), "start.lock"), () => this.stopLocked(userId, timeoutSeconds));
  }

  private async stopLocked(userId: string, timeoutSeconds: number): Promise<void> {
    const run = await this.readJson<RunFile>(path.join(this.dir(userId), "run.json"));
    if (!run || !this.isOurs(run.pid)) return;
    signalGroup(run.pid, "SIGTERM");
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline && this.isOurs(run.pid)) await new Promise((r) => setTimeout(r, 50));
    if (this.isOurs(run.pid)) signalGroup(run.pid, "SIGKILL");
    for (let i = 0; i < 100 && this.isOurs(run.pid); i++) await new Promise((r) => setTimeout(r, 20));
  }

  async remove({ userId, removeData = false }: OpOptions & { removeData?: boolean }): Promise<void> {
    await this.stop({ userId, timeoutSeconds: 2 });
    const dir = this.dir(userId);
    await fs.rm(path.join(dir, "sandbox.json"), { force: true });
    await fs.rm(path.join(dir, "run.json"), { force: true });
    if (removeData) await fs.rm(dir, { recursive: true, force: true });
  }

  /** Alive and running the agent (a pid reused by something else after a reboot is not ours). */
  private isOurs(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (/\) Z /.test(stat)) return false; // a zombie is dead
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(this.opts.agentEntry);
    } catch {
      return true; // no /proc (macOS): trust kill(0)
    }
  }

  async inspect({ userId }: OpOptions): Promise<RuntimeInstance | null> {
    const dir = this.dir(userId);
    const sbx = await this.readJson<SandboxFile>(path.join(dir, "sandbox.json"));
    if (!sbx) return null;
    const run = await this.readJson<RunFile>(path.join(dir, "run.json"));
    const running = !!run && this.isOurs(run.pid);
    return {
      id: `process:${sbx.userId}`,
      name: path.basename(dir),
      userId: sbx.userId,
      sandboxId: sbx.sandboxId,
      configHash: sbx.configHash,
      image: sbx.image,
      status: running ? "running" : run ? "exited" : "created",
      running,
      exitCode: running ? null : (this.exitCodes.get(userId) ?? null),
      endpoint: running ? `ws://127.0.0.1:${run!.port}` : null,
      startedAt: run ? new Date(run.startedAt) : null,
    };
  }

  async list(): Promise<RuntimeInstance[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.root);
    } catch {
      return [];
    }
    const out: RuntimeInstance[] = [];
    for (const name of names) {
      const sbx = await this.readJson<SandboxFile>(path.join(this.root, name, "sandbox.json"));
      if (!sbx) continue;
      const inst = await this.inspect({ userId: sbx.userId });
      if (inst) out.push(inst);
    }
    return out;
  }

  async logs({ userId, tail = 200 }: OpOptions & { tail?: number }): Promise<string> {
    try {
      const fh = await fs.open(path.join(this.dir(userId), "agent.log"), "r");
      try {
        const { size } = await fh.stat();
        const len = Math.min(size, 512 * 1024);
        const buf = Buffer.alloc(len);
        await fh.read(buf, 0, len, size - len);
        const lines = buf.toString("utf8").split("\n");
        if (lines.at(-1) === "") lines.pop();
        return lines.slice(-tail).join("\n") + (lines.length ? "\n" : "");
      } finally {
        await fh.close();
      }
    } catch {
      return "";
    }
  }

  async memoryUsage({ userId }: OpOptions): Promise<number | null> {
    const run = await this.readJson<RunFile>(path.join(this.dir(userId), "run.json"));
    if (!run || !this.isOurs(run.pid)) return null;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${run.pid}/status`, "utf8"));
      return m ? Number(m[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  async resolveImage(): Promise<string> {
    // The "image" is the agent's build on disk: a rebuild changes its mtime and so the config hash.
    try {
      const st = await fs.stat(this.opts.agentEntry);
      return `process:${Math.floor(st.mtimeMs)}:${st.size}`;
    } catch (err) {
      throw new RuntimeError(`agent entry ${this.opts.agentEntry} is missing (run npx tsc -b)`, err);
    }
  }

  /** Agents are child processes on this host: loopback (no isolation from it, as documented). */
  async listenHost(): Promise<string> {
    return "127.0.0.1";
  }

  async gatewayUrl({ port }: { port: number }): Promise<string> {
    return `http://127.0.0.1:${port}/llm/v1`;
  }
}

/** Runs fn holding an exclusive lock file; a lock older than staleMs was left by a dead holder. */
async function withLockFile<T>(file: string, fn: () => Promise<T>, staleMs = 30_000): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      const fh = await fs.open(file, "wx");
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const st = await fs.stat(file).catch(() => null);
      if (st && Date.now() - st.mtimeMs > staleMs) await fs.rm(file, { force: true });
      if (i > 1200) throw new RuntimeError(`timed out waiting for ${file}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(file, { force: true });
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // the agent is a group leader (detached): its children go too
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** A free loopback port (the OS picks; tiny race until the agent binds it, retried by the caller). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
