import { randomUUID } from "node:crypto";
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { MethodResult } from "@concierge/protocol";
import type { z } from "zod/v4";
import type { Db } from "../db/database";
import { sandboxes, users, type Sandbox, type SandboxState, type User } from "../db/schema";
import type { Logger } from "../logger";
import { systemClock, type Clock } from "../clock";
import { UserNotFoundError, SandboxNotFoundError } from "../errors";
import type { AgentTarget } from "../connections/agent-connection";
import type { ControlPlaneCredentials } from "./credentials";
import { buildAgentEnv } from "./agent-env";
import { waitForPort } from "./port-probe";
import type { SandboxMetrics } from "./sandbox-metrics";
import { configHash } from "./container-spec";
import { SandboxUnavailableError, type SandboxLimits, type SandboxRuntime, type SandboxSpec } from "./runtime";

/** A timer that does not keep the process alive (a boost's lowering retries in the background). */
function unrefDelay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

export interface SandboxTarget extends AgentTarget {
  userId: string;
}

/** How ensure() found the sandbox: answering, frozen (thawed), stopped (started) or absent (created). */
type EnsurePath = "ready" | "thaw" | "wake" | "create";

/** Points in provisioning where a fault test may kill the process (hooks.onStep). */
export type ProvisionStep = "row" | "created" | "started" | "ready";

export interface SandboxSettings {
  image: string;
  limits: SandboxLimits;
  /** SANDBOX_GATEWAY_URL; else derived from the runtime and gatewayPort. */
  gatewayUrl?: string;
  /** The control plane's HTTP port (known after listen, so a function). */
  gatewayPort: () => number;
  llm?: { model: string; heartbeatModel: string };
  agentLogLevel?: string;
  /**
   * SANDBOX_START_CPUS: the CPU limit a sandbox starts with (created or woken), lowered to
   * limits.cpus once its agent answered the handshake. Unset, or not above limits.cpus: no boost.
   */
  startCpus?: number;
}

export interface SandboxServiceOptions {
  db: Db;
  runtime: SandboxRuntime;
  credentials: ControlPlaneCredentials;
  settings: SandboxSettings;
  /** Resolves once the agent completed the signed handshake (ConnectionManager.connect). */
  waitReady: (target: AgentTarget, opts: { timeoutMs: number }) => Promise<void>;
  /** Drops the control plane's socket to a sandbox being stopped (ConnectionManager.close). */
  disconnect?: (sandboxId: string) => Promise<void>;
  /** Suspends (true) or resumes the control plane's pings to a sandbox being frozen or thawed (ConnectionManager.freeze/thaw). */
  suspendPings?: (sandboxId: string, suspended: boolean) => void;
  /** Called once a sandbox's rows are gone, so caches keyed by it (the LLM gateway's token cache) drop it at once. */
  onDeleted?: (sandboxId: string) => void;
  /** Called when a sandbox's token stops being valid (it was stopped or re-keyed), for the same caches. */
  onTokenRevoked?: (sandboxId: string) => void;
  /** For data.export before delete (ConnectionManager.request). */
  exportData?: (target: AgentTarget) => Promise<MethodResult<"data.export">>;
  logger: Logger;
  clock?: Clock;
  readyTimeoutMs?: number;
  /** Attempts to bring a sandbox up in one ensure before it is put in state error. */
  startAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  hooks?: { onStep?: (step: ProvisionStep, userId: string) => void | Promise<void> };
  metrics?: SandboxMetrics;
  /** Waits between attempts to take a startup boost back (default 0.2 s, 1 s, 3 s, 10 s: five attempts). */
  cpuSettleDelaysMs?: number[];
}

/**
 * The sandbox state machine: provisioning -> running -> stopping -> stopped, plus error and
 * deleted, persisted in the sandboxes table. Every operation on one user runs under that user's
 * in-process lock, and concurrent ensure() calls share one promise. Across processes the unique
 * sandboxes.user_id row and the runtime's unique name per user keep it to one sandbox.
 */
export class SandboxService {
  readonly runtime: SandboxRuntime;
  private readonly db: Db;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly readyTimeoutMs: number;
  private readonly startAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly ensuring = new Map<string, Promise<SandboxTarget>>();
  /** Users whose startup boost is being taken back (the promise ends when it was, or gave up). */
  private readonly settling = new Map<string, Promise<void>>();
  /** Users whose boost could not be taken back: the reconciler retries them every pass. */
  private readonly unsettled = new Set<string>();

  constructor(private readonly opts: SandboxServiceOptions) {
    this.db = opts.db;
    this.runtime = opts.runtime;
    this.log = opts.logger.child({ component: "sandboxes" });
    this.clock = opts.clock ?? systemClock;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
    this.startAttempts = opts.startAttempts ?? 3;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** A running, handshake-ready sandbox for the user: created, started or woken as needed. */
  ensure(userId: string): Promise<SandboxTarget> {
    const inFlight = this.ensuring.get(userId);
    if (inFlight) return inFlight;
    const started = this.clock.now().getTime();
    const timed = { path: "create" as EnsurePath };
    const p = this.withLock(userId, () => this.doEnsure(userId, timed))
      .then(
        (t) => {
          this.opts.metrics?.ensureSeconds.observe({ outcome: "ok", path: timed.path }, (this.clock.now().getTime() - started) / 1000);
          return t;
        },
        (err) => {
          this.opts.metrics?.ensureSeconds.observe({ outcome: "error", path: timed.path }, (this.clock.now().getTime() - started) / 1000);
          throw err;
        },
      )
      .finally(() => this.ensuring.delete(userId));
    this.ensuring.set(userId, p);
    return p;
  }

  /** Marks activity: the idle culler measures from the last one. */
  async touch(userId: string): Promise<void> {
    await this.db.update(sandboxes).set({ lastActivityAt: this.clock.now() }).where(eq(sandboxes.userId, userId));
  }

  async get(userId: string): Promise<Sandbox | null> {
    const [row] = await this.db.select().from(sandboxes).where(eq(sandboxes.userId, userId));
    return row ?? null;
  }

  async list(): Promise<{ sandbox: Sandbox; user: User }[]> {
    const rows = await this.db.select().from(sandboxes).innerJoin(users, eq(users.id, sandboxes.userId)).orderBy(sandboxes.createdAt);
    return rows.map((r) => ({ sandbox: r.sandboxes, user: r.users }));
  }

  /** True while an operation on this user runs in this process (the reconciler leaves it alone). */
  isBusy(userId: string): boolean {
    return this.locks.has(userId);
  }

  /** Runs fn after every earlier operation on this user in this process has finished. */
  withLock<T>(userId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(userId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(userId, tail);
    void tail.then(() => {
      if (this.locks.get(userId) === tail) this.locks.delete(userId);
    });
    return run;
  }

  async start(userId: string): Promise<SandboxTarget> {
    return this.ensure(userId);
  }

  async stop(userId: string): Promise<void> {
    await this.withLock(userId, () => this.doStop(userId));
  }

  /** Whether the runtime offers the frozen tier (Docker does; the others stop idle sandboxes instead). */
  get canFreeze(): boolean {
    return typeof this.runtime.pause === "function" && typeof this.runtime.unpause === "function";
  }

  /**
   * Freezes it only if it is still running and idle since before cutoff: the container is paused,
   * the control plane's socket to it stays open and is no longer pinged. The next ensure() thaws it.
   */
  async freezeIfIdle(userId: string, cutoff: Date): Promise<boolean> {
    if (!this.canFreeze) return false;
    return this.withLock(userId, async () => {
      const [claimed] = await this.db
        .update(sandboxes)
        .set({ state: "frozen", updatedAt: this.clock.now() })
        .where(and(eq(sandboxes.userId, userId), eq(sandboxes.state, "running"), lt(sandboxes.lastActivityAt, cutoff)))
        .returning({ id: sandboxes.id });
      if (!claimed) return false;
      this.opts.suspendPings?.(claimed.id, true);
      try {
        await this.runtime.pause!({ userId });
      } catch (err) {
        this.opts.suspendPings?.(claimed.id, false);
        await this.setState(userId, "running");
        throw err;
      }
      this.log.info({ userId, sandboxId: claimed.id }, "sandbox frozen");
      return true;
    });
  }

  /** Stops it only if it is still running or frozen, idle since before cutoff (another replica may have woken it). */
  async stopIfIdle(userId: string, cutoff: Date): Promise<boolean> {
    return this.withLock(userId, async () => {
      const claimed = await this.db
        .update(sandboxes)
        .set({ state: "stopping", updatedAt: this.clock.now() })
        .where(and(eq(sandboxes.userId, userId), inArray(sandboxes.state, ["running", "frozen"]), lt(sandboxes.lastActivityAt, cutoff)))
        .returning({ id: sandboxes.id });
      if (claimed.length === 0) return false;
      await this.doStop(userId);
      return true;
    });
  }

  /**
   * Stops every running sandbox (the process runtime's graceful shutdown: its agents are children of
   * this machine's control plane and should not outlive `npm start`; containers do outlive it).
   */
  async stopAll(): Promise<void> {
    const running = await this.db.select({ userId: sandboxes.userId }).from(sandboxes).where(inArray(sandboxes.state, ["running", "frozen", "provisioning"]));
    await Promise.all(
      running.map(({ userId }) => this.stop(userId).catch((err) => this.log.warn({ userId, err: (err as Error).message }, "could not stop sandbox"))),
    );
  }

  async restart(userId: string): Promise<SandboxTarget> {
    return this.withLock(userId, async () => {
      await this.doStop(userId);
      return this.doEnsure(userId);
    });
  }

  /**
   * Deletes the sandbox: container, volume (the user's data), token hash and rows, the user's
   * included. With exportFirst, the agent's data.export answer is returned first (GDPR).
   */
  async delete(userId: string, opts: { exportFirst?: boolean } = {}): Promise<{ export?: MethodResult<"data.export"> }> {
    return this.withLock(userId, async () => {
      let exported: MethodResult<"data.export"> | undefined;
      if (opts.exportFirst) {
        if (!this.opts.exportData) throw new Error("data export is not wired");
        exported = await this.opts.exportData(await this.doEnsure(userId));
      }
      const row = await this.get(userId);
      if (row) {
        await this.setState(userId, "deleted", { endpoint: null });
        await this.opts.disconnect?.(row.id).catch(() => undefined);
      }
      await this.opts.runtime.remove({ userId, removeData: true });
      await this.db.delete(sandboxes).where(eq(sandboxes.userId, userId));
      await this.db.delete(users).where(eq(users.id, userId));
      if (row) this.opts.onDeleted?.(row.id);
      this.log.info({ userId }, "sandbox and user deleted");
      return exported ? { export: exported } : {};
    });
  }

  /** The CPU limit to start with: the boost when one is set above the limit and the runtime can take it back. */
  private get startCpus(): number | undefined {
    const { startCpus, limits } = this.opts.settings;
    return startCpus !== undefined && startCpus > limits.cpus && typeof this.runtime.setCpus === "function" ? startCpus : undefined;
  }

  /**
   * Takes a startup boost back, off the caller's path: sets the configured CPU limit, retrying with
   * backoff and logging each failure; if every attempt fails the user is left to the reconciler
   * (retryUnsettledCpus, every pass). A later boost of the same user waits for this one to end first.
   */
  private settleCpus(userId: string): Promise<void> {
    if (typeof this.runtime.setCpus !== "function") return Promise.resolve();
    const prev = this.settling.get(userId) ?? Promise.resolve();
    const delays = this.opts.cpuSettleDelaysMs ?? [200, 1_000, 3_000, 10_000];
    const run = prev.then(async () => {
      for (let attempt = 0; attempt <= delays.length; attempt++) {
        if (attempt > 0) await unrefDelay(delays[attempt - 1]!);
        try {
          await this.runtime.setCpus!({ userId, cpus: this.opts.settings.limits.cpus });
          this.unsettled.delete(userId);
          return;
        } catch (err) {
          this.log.warn({ userId, attempt: attempt + 1, err: (err as Error).message }, "could not take the startup CPU boost back; retrying");
        }
      }
      this.unsettled.add(userId);
      this.log.error({ userId, cpus: this.opts.settings.limits.cpus }, "startup CPU boost not taken back; the reconciler will retry");
    });
    this.settling.set(userId, run);
    void run.finally(() => {
      if (this.settling.get(userId) === run) this.settling.delete(userId);
    });
    return run;
  }

  /** Resolves once any startup boost of this user has been taken back (or given up on). */
  async cpuSettled(userId: string): Promise<void> {
    for (let i = 0; i < 100 && this.settling.has(userId); i++) await this.settling.get(userId);
  }

  /** Users whose boost could not be taken back in ensure()'s retries. */
  unsettledCpus(): string[] {
    return [...this.unsettled];
  }

  /**
   * Makes sure a sandbox runs at the configured CPU limit: inspects it and lowers a leftover boost
   * (a control plane that died before taking it back, or a lowering that failed). The reconciler's
   * check. True when it had to change it.
   */
  async enforceCpuLimit(userId: string): Promise<boolean> {
    if (typeof this.runtime.setCpus !== "function") return false;
    const limit = this.opts.settings.limits.cpus;
    const inst = await this.runtime.inspect({ userId });
    // Gone, or not reporting a limit, or already at it: nothing to lower.
    if (!inst || inst.cpus === undefined || Math.abs(inst.cpus - limit) < 1e-6) {
      this.unsettled.delete(userId);
      return false;
    }
    await this.runtime.setCpus({ userId, cpus: limit });
    this.unsettled.delete(userId);
    this.log.info({ userId, had: inst.cpus, cpus: limit }, "lowered a sandbox's CPU limit to the configured one");
    return true;
  }

  /** The spec this sandbox should run with now; its hash decides whether a stopped one is recreated. */
  async desiredSpec(row: Sandbox, user: User, known?: { imageId: string }): Promise<SandboxSpec> {
    const s = this.opts.settings;
    const imageId = known?.imageId ?? (await this.runtime.resolveImage({ image: s.image }));
    const gatewayUrl = s.gatewayUrl ?? (await this.runtime.gatewayUrl({ port: s.gatewayPort() }));
    const env = buildAgentEnv({
      sandboxId: row.id,
      token: this.opts.credentials.tokenFor(row.id, row.tokenGeneration),
      publicKeyPem: this.opts.credentials.publicKeyPem,
      dataDir: "/data",
      gatewayUrl,
      timezone: user.timezone,
      userName: user.name,
      llm: s.llm,
      logLevel: s.agentLogLevel,
    });
    return { userId: user.id, sandboxId: row.id, image: s.image, env, limits: s.limits, configHash: configHash({ image: s.image, imageId, limits: s.limits, env }) };
  }

  targetOf(row: { id: string; userId: string; tokenGeneration: number }, endpoint: string): SandboxTarget {
    return { userId: row.userId, sandboxId: row.id, endpoint, token: this.opts.credentials.tokenFor(row.id, row.tokenGeneration) };
  }

  /**
   * A new token for a container about to be created: the generation goes up and the stored hash
   * follows, so whatever held the old container's token (its env, a leaked copy) holds nothing.
   */
  private async rotateToken(row: Sandbox): Promise<Sandbox> {
    const tokenGeneration = row.tokenGeneration + 1;
    const tokenHash = this.opts.credentials.tokenHashFor(row.id, tokenGeneration);
    // Only from the generation we read: another replica creating this sandbox at the same moment
    // has rotated first, and its container is the one to use (the next attempt finds it).
    const moved = await this.db
      .update(sandboxes)
      .set({ tokenGeneration, tokenHash, updatedAt: this.clock.now() })
      .where(and(eq(sandboxes.id, row.id), eq(sandboxes.tokenGeneration, row.tokenGeneration)))
      .returning({ id: sandboxes.id });
    if (moved.length === 0) throw new SandboxUnavailableError("another control plane is creating this sandbox");
    this.opts.onTokenRevoked?.(row.id);
    return { ...row, tokenGeneration, tokenHash };
  }

  /** Whether another replica rotated the sandbox's token after `row` was read (false when that cannot be told). */
  private async tokenMovedSince(row: Sandbox): Promise<boolean> {
    const now = await this.get(row.userId).catch(() => null);
    return now !== null && now.tokenGeneration !== row.tokenGeneration;
  }

  private async step(step: ProvisionStep, userId: string): Promise<void> {
    await this.opts.hooks?.onStep?.(step, userId);
  }

  private async doEnsure(userId: string, timed?: { path: EnsurePath }): Promise<SandboxTarget> {
    // Frozen: thawed in place, its socket still open (tens of ms); if that fails, started below.
    // The sandbox row is read first and alone: it exists only while its user does (a cascading
    // foreign key), and neither the thaw nor a running sandbox's check needs anything of the user.
    const found = await this.get(userId);
    if (found?.state === "frozen") {
      const thawed = await this.thaw(found, this.log.child({ userId, sandboxId: found.id }));
      if (thawed) {
        if (timed) timed.path = "thaw";
        return thawed;
      }
    }

    // The row as found serves the paths below, except after a thaw that failed (it may have marked
    // the row running), and when there is none yet: then the user is checked and the row made.
    let user: User | undefined;
    let row = found?.state === "frozen" ? await this.get(userId) : found;
    if (!row) {
      user = await this.userOf(userId);
      row = await this.upsertRow(userId);
    }
    const log = this.log.child({ userId, sandboxId: row.id });

    // Fast path: running and answering. A running agent that does not answer is restarted below.
    if (row.state === "running" && row.endpoint) {
      const inst = await this.runtime.inspect({ userId });
      if (inst?.running && inst.sandboxId === row.id && inst.endpoint) {
        const target = this.targetOf(row, inst.endpoint);
        try {
          await this.opts.waitReady(target, { timeoutMs: Math.min(this.readyTimeoutMs, 5_000) });
          await this.db.update(sandboxes).set({ lastActivityAt: this.clock.now(), endpoint: inst.endpoint }).where(eq(sandboxes.id, row.id));
          if (timed) timed.path = "ready";
          return target;
        } catch (err) {
          // Unless another replica re-keyed it meanwhile (it recreated the sandbox, and the token
          // read here is the old one): then it is that replica's, and bringUp below reads the row again.
          if (!(await this.tokenMovedSince(row))) {
            log.warn({ err: (err as Error).message }, "running sandbox does not answer; restarting it");
            await this.opts.disconnect?.(row.id).catch(() => undefined);
            await this.runtime.stop({ userId, timeoutSeconds: 2 });
          }
        }
      }
    }

    const woken = row.state === "stopped";
    if (timed) timed.path = row.containerId ? "wake" : "create";
    if (row.state !== "running") await this.setState(userId, "provisioning", { error: null });
    await this.step("row", userId);
    const startCpus = this.startCpus;
    // Set once the sandbox may run with the boost; whatever the outcome, it is then taken back.
    let boosted = false;
    try {
      return await this.bringUp(userId, user ?? (await this.userOf(userId)), row, log, woken, startCpus, () => (boosted = true));
    } finally {
      if (boosted) void this.settleCpus(userId);
    }
  }

  /** ensure()'s attempts at creating or starting the sandbox and waiting for its handshake. */
  private async bringUp(userId: string, user: User, row: Sandbox, log: Logger, woken: boolean, startCpus: number | undefined, onBoost: () => void): Promise<SandboxTarget> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.startAttempts; attempt++) {
      try {
        // Two daemon calls at once: the image's identity (for the config hash) and the sandbox.
        const [imageId, found] = await Promise.all([this.runtime.resolveImage({ image: this.opts.settings.image }), this.runtime.inspect({ userId })]);
        // The row is read after the runtime was: a token is rotated before its sandbox is created,
        // so a sandbox seen here holds the generation read now (or one rotated past it, a sandbox
        // about to be replaced). Read before, it may predate another replica's create, and its
        // token would be refused by that replica's sandbox.
        row = (await this.get(userId)) ?? row;
        let spec = await this.desiredSpec(row, user, { imageId });
        let inst = found;
        // Paused behind the row's back (a control plane that died while freezing): thaw, then judge.
        if (inst?.status === "paused" && (await this.runtime.unpause?.({ userId }))) inst = await this.runtime.inspect({ userId });
        if (inst && (inst.sandboxId !== row.id || (!inst.running && inst.configHash !== spec.configHash))) {
          // A leftover of an earlier sandbox, or a stopped one whose image or config changed:
          // recreate it. The volume (the user's data) is kept.
          log.info({ had: inst.configHash, wants: spec.configHash, sandboxOf: inst.sandboxId }, "recreating sandbox");
          await this.runtime.remove({ userId, removeData: false });
          inst = null;
        }
        const created = !inst;
        if (!inst) {
          row = await this.rotateToken(row);
          spec = await this.desiredSpec(row, user, { imageId });
          if (startCpus !== undefined) onBoost();
          inst = await this.runtime.create({ spec: startCpus === undefined ? spec : { ...spec, startCpus } });
          await this.step("created", userId);
        }
        if (!inst.running) {
          const limit = this.opts.settings.limits.cpus;
          // Created just now, or stopped by doStop, it has the boost already (inspect says so); else
          // it is raised before its start. Whatever it starts with, the limit is set afterwards.
          const raise = startCpus !== undefined && !created && !(inst.cpus !== undefined && inst.cpus > limit);
          if (startCpus !== undefined || (inst.cpus !== undefined && inst.cpus !== limit)) onBoost();
          inst = await this.runtime.start({ userId, ...(raise ? { cpus: startCpus } : {}) });
          await this.step("started", userId);
        }
        if (!inst.endpoint) throw new SandboxUnavailableError("the sandbox started but has no address");
        const target = this.targetOf(row, inst.endpoint);
        const readyBy = this.clock.now().getTime() + this.readyTimeoutMs;
        await waitForPort(inst.endpoint, { timeoutMs: this.readyTimeoutMs });
        await this.opts.waitReady(target, { timeoutMs: Math.max(1_000, readyBy - this.clock.now().getTime()) });
        await this.setState(userId, "running", {
          containerId: inst.id,
          containerName: inst.name,
          image: inst.image,
          configHash: inst.configHash,
          endpoint: inst.endpoint,
          tokenHash: this.opts.credentials.tokenHashFor(row.id, row.tokenGeneration),
          lastActivityAt: this.clock.now(),
          error: null,
          ...(woken ? { crashCount: 0 } : {}),
        });
        await this.step("ready", userId);
        log.info({ endpoint: inst.endpoint, attempt, woken }, "sandbox ready");
        return target;
      } catch (err) {
        lastError = err;
        log.warn({ err: (err as Error).message, attempt }, "sandbox did not come up");
        if (attempt < this.startAttempts) {
          // A sandbox whose token another replica has rotated since is that replica's to bring up.
          if (!(await this.tokenMovedSince(row))) await this.runtime.stop({ userId, timeoutSeconds: 2 }).catch(() => undefined);
          await this.sleep(Math.min(5_000, 250 * 2 ** (attempt - 1)));
        }
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    await this.db
      .update(sandboxes)
      .set({ state: "error", error: reason.slice(0, 1000), crashCount: sql`${sandboxes.crashCount} + 1`, updatedAt: this.clock.now() })
      .where(eq(sandboxes.userId, userId));
    throw new SandboxUnavailableError(`the assistant's sandbox could not be started: ${reason}`);
  }

  /**
   * Unpauses a frozen sandbox and checks it answers on its kept socket (one daemon call, no
   * inspect: a frozen container keeps its address); null when it was not frozen or does not answer.
   */
  private async thaw(row: Sandbox, log: Logger): Promise<SandboxTarget | null> {
    try {
      const thawed = this.runtime.unpause ? await this.runtime.unpause({ userId: row.userId }) : false;
      this.opts.suspendPings?.(row.id, false);
      if (!thawed || !row.endpoint) return null;
      const target = this.targetOf(row, row.endpoint);
      // Together: the row says running while the kept socket is checked. If the agent does not
      // answer, ensure() goes on to the running-but-silent path, which restarts it.
      await Promise.all([
        this.opts.waitReady(target, { timeoutMs: Math.min(this.readyTimeoutMs, 5_000) }),
        this.setState(row.userId, "running", { lastActivityAt: this.clock.now() }),
      ]);
      return target;
    } catch (err) {
      log.warn({ err: (err as Error).message }, "frozen sandbox did not thaw; starting it");
      return null;
    }
  }

  private async doStop(userId: string): Promise<void> {
    const row = await this.get(userId);
    if (!row) throw new SandboxNotFoundError(userId);
    await this.setState(userId, "stopping");
    await this.opts.disconnect?.(row.id).catch(() => undefined);
    // A frozen agent could not handle SIGTERM: thaw it first so it stops gracefully.
    if (this.runtime.unpause && (await this.runtime.inspect({ userId }))?.status === "paused") await this.runtime.unpause({ userId });
    await this.runtime.stop({ userId });
    // The next wake's boost, set now while nothing waits: the wake then starts it at once.
    const startCpus = this.startCpus;
    if (startCpus !== undefined) {
      await this.runtime.setCpus!({ userId, cpus: startCpus }).catch((err) => this.log.warn({ userId, err: (err as Error).message }, "could not set the next start's CPU boost"));
    }
    await this.setState(userId, "stopped", { endpoint: null, crashCount: 0, error: null });
    this.opts.onTokenRevoked?.(row.id);
    this.log.info({ userId, sandboxId: row.id }, "sandbox stopped");
  }

  /** The user, or UserNotFoundError. */
  private async userOf(userId: string): Promise<User> {
    const [user] = await this.db.select().from(users).where(eq(users.id, userId));
    if (!user) throw new UserNotFoundError(userId);
    return user;
  }

  /** The user's row, inserted if absent; the unique user_id makes concurrent inserts collapse into one. */
  private async upsertRow(userId: string): Promise<Sandbox> {
    const id = randomUUID();
    await this.db
      .insert(sandboxes)
      .values({
        id,
        userId,
        state: "provisioning",
        image: this.opts.settings.image,
        tokenHash: this.opts.credentials.tokenHashFor(id),
        lastActivityAt: this.clock.now(),
        createdAt: this.clock.now(),
        updatedAt: this.clock.now(),
      })
      .onConflictDoNothing({ target: sandboxes.userId });
    const row = await this.get(userId);
    if (!row) throw new SandboxNotFoundError(userId);
    return row;
  }

  async setState(userId: string, state: SandboxState, patch: Partial<typeof sandboxes.$inferInsert> = {}): Promise<void> {
    await this.db.update(sandboxes).set({ ...patch, state, updatedAt: this.clock.now() }).where(eq(sandboxes.userId, userId));
  }
}
