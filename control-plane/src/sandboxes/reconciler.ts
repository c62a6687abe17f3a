import { inArray, sql } from "drizzle-orm";
import type { Db } from "../db/database";
import { sandboxes, type Sandbox } from "../db/schema";
import type { Logger } from "../logger";
import { systemClock, type Clock } from "../clock";
import { Periodic } from "./periodic";
import type { RuntimeInstance, SandboxRuntime } from "./runtime";
import type { SandboxService } from "./sandbox-service";
import type { SandboxMetrics } from "./sandbox-metrics";

export interface ReconcilerOptions {
  db: Db;
  runtime: SandboxRuntime;
  service: SandboxService;
  logger: Logger;
  clock?: Clock;
  intervalMs?: number;
  /** Crashes (container died) tolerated before the sandbox is put in state error. */
  maxCrashes?: number;
  /** Restart delay after the nth crash: base * 2^(n-1), capped. */
  crashBackoff?: { baseMs: number; maxMs: number };
  /** A provisioning or stopping row untouched this long belongs to a process that died. */
  staleMs?: number;
  readyTimeoutMs?: number;
  waitReady: (target: { sandboxId: string; endpoint: string; token: string }, opts: { timeoutMs: number }) => Promise<void>;
  metrics?: SandboxMetrics;
  /**
   * With several replicas: a pass runs only on the replica holding this lease (LeaderLease), so
   * two reconcilers never restart, count or remove the same sandbox at once.
   */
  lease?: { acquire(): Promise<boolean> };
  /**
   * Every this many passes (the first included) every running sandbox's CPU limit is read back and
   * a leftover startup boost lowered (default 60: every 5 minutes at the 5 s interval). Sandboxes
   * whose boost the service could not take back are checked on every pass.
   */
  cpuAuditEveryPasses?: number;
}

export interface ReconcileReport {
  adopted: string[];
  removedOrphans: string[];
  markedStopped: string[];
  restarted: string[];
  failed: string[];
  /** Running at a CPU limit other than the configured one (a startup boost left behind): lowered. */
  cpuLowered: string[];
}

/**
 * Compares the database with the runtime, at start-up and every few seconds: adopts running
 * sandboxes the database knows, removes sandboxes with our labels that no row owns, fixes states
 * that drifted, restarts crashed sandboxes with backoff and gives up (state error) after too many.
 * Config drift (an upgraded image) is left to the next wake: ensure() recreates a stopped sandbox
 * whose hash differs, keeping its volume.
 */
export class Reconciler {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly loop: Periodic;
  private readonly maxCrashes: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly staleMs: number;
  private readonly cpuAuditEvery: number;
  private passes = 0;

  constructor(private readonly opts: ReconcilerOptions) {
    this.log = opts.logger.child({ component: "reconciler" });
    this.clock = opts.clock ?? systemClock;
    this.maxCrashes = opts.maxCrashes ?? 3;
    this.backoff = opts.crashBackoff ?? { baseMs: 2_000, maxMs: 60_000 };
    this.staleMs = opts.staleMs ?? 120_000;
    this.cpuAuditEvery = Math.max(1, opts.cpuAuditEveryPasses ?? 60);
    this.loop = new Periodic("reconciler", opts.intervalMs ?? 5_000, () => this.runOnce(), this.clock, this.log);
  }

  /** Starts the loop; the first pass runs at once unless the caller already ran one. */
  start(opts: { immediately?: boolean } = {}): void {
    this.loop.start({ immediately: opts.immediately ?? true });
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  async runOnce(): Promise<ReconcileReport> {
    const report: ReconcileReport = { adopted: [], removedOrphans: [], markedStopped: [], restarted: [], failed: [], cpuLowered: [] };
    if (this.opts.lease && !(await this.opts.lease.acquire())) return report;
    const instances = await this.opts.runtime.list();
    const rows = await this.opts.db.select().from(sandboxes);
    const rowByUser = new Map(rows.map((r) => [r.userId, r]));
    const instByUser = new Map(instances.map((i) => [i.userId, i]));

    // Sandboxes no row owns. A row is written before its sandbox is created, so this is never a
    // provisioning in progress elsewhere.
    for (const inst of instances) {
      const row = rowByUser.get(inst.userId);
      if (row && row.id === inst.sandboxId) continue;
      if (this.opts.service.isBusy(inst.userId)) continue;
      if (row && row.state === "provisioning") continue; // ensure() replaces a leftover itself
      await this.removeOrphan(inst, report);
    }

    for (const row of rows) {
      if (this.opts.service.isBusy(row.userId)) continue;
      const inst = instByUser.get(row.userId);
      const mine = inst && inst.sandboxId === row.id ? inst : undefined;
      try {
        await this.reconcileRow(row, mine, report);
      } catch (err) {
        this.log.warn({ userId: row.userId, err: (err as Error).message }, "could not reconcile sandbox");
      }
    }
    await this.auditCpus(rows, instByUser, report);
    if (this.opts.metrics) {
      const counts = await this.opts.db.select({ state: sandboxes.state, n: sql<number>`count(*)::int` }).from(sandboxes).groupBy(sandboxes.state);
      this.opts.metrics.byState.reset();
      for (const { state, n } of counts) this.opts.metrics.byState.set({ state }, n);
    }
    const changed = Object.values(report).some((l) => l.length > 0);
    if (changed) this.log.info(report, "reconciled");
    return report;
  }

  /**
   * A startup boost is taken back by the service right after the handshake; what a control plane
   * that died before that (or a lowering that kept failing) left behind is lowered here.
   */
  private async auditCpus(rows: Sandbox[], instByUser: Map<string, RuntimeInstance>, report: ReconcileReport): Promise<void> {
    const svc = this.opts.service;
    // Adopted ones were started by someone else (a daemon restart, a control plane that died): at what limit, inspect says.
    const check = new Set([...svc.unsettledCpus(), ...report.adopted]);
    if (this.passes++ % this.cpuAuditEvery === 0) {
      for (const row of rows) {
        const inst = instByUser.get(row.userId);
        if (inst && inst.sandboxId === row.id && (inst.running || inst.status === "paused")) check.add(row.userId);
      }
    }
    for (const userId of check) {
      if (svc.isBusy(userId)) continue;
      try {
        if (await svc.enforceCpuLimit(userId)) report.cpuLowered.push(userId);
      } catch (err) {
        this.log.warn({ userId, err: (err as Error).message }, "could not lower a sandbox's CPU limit");
      }
    }
  }

  private async removeOrphan(inst: RuntimeInstance, report: ReconcileReport): Promise<void> {
    // The container goes; the user's volume never does here. Deleting data is delete()'s job,
    // asked for explicitly: a stray or missing row must not be able to destroy anyone's data.
    await this.opts.runtime.remove({ userId: inst.userId, removeData: false });
    report.removedOrphans.push(inst.userId);
    this.log.info({ userId: inst.userId, sandboxId: inst.sandboxId, name: inst.name }, "removed orphan sandbox (its data volume is kept)");
  }

  private async reconcileRow(row: Sandbox, inst: RuntimeInstance | undefined, report: ReconcileReport): Promise<void> {
    const now = this.clock.now();
    const stale = now.getTime() - row.updatedAt.getTime() > this.staleMs;
    const svc = this.opts.service;
    switch (row.state) {
      case "running": {
        if (!inst) {
          // Gone behind our back: the next ensure() recreates it (its volume is still there).
          await svc.setState(row.userId, "stopped", { endpoint: null });
          report.markedStopped.push(row.userId);
          return;
        }
        if (inst.running) {
          if (row.error) await svc.setState(row.userId, "running", { error: null });
          if (inst.endpoint && inst.endpoint !== row.endpoint) {
            await svc.setState(row.userId, "running", { endpoint: inst.endpoint });
            report.adopted.push(row.userId);
          }
          return;
        }
        if (inst.status === "restarting") return; // the daemon's own restart policy is at work
        if (inst.status === "paused") {
          // Frozen by a control plane that died before it recorded so: record it.
          await svc.setState(row.userId, "frozen");
          return;
        }
        await this.handleCrash(row, inst, report);
        return;
      }
      case "frozen":
        // Still paused: as it should be. Thawed behind our back: running again. Gone or exited:
        // stopped (the next ensure() starts it; its volume is kept).
        if (inst?.status === "paused") return;
        if (inst?.running) await svc.setState(row.userId, "running", { endpoint: inst.endpoint, lastActivityAt: now });
        else {
          await svc.setState(row.userId, "stopped", { endpoint: null });
          report.markedStopped.push(row.userId);
        }
        return;
      case "stopped":
      case "error":
        if (inst?.running && row.state === "stopped") {
          // Started outside us (a daemon restart with its restart policy): adopt it; the culler stops it when idle.
          await svc.setState(row.userId, "running", { endpoint: inst.endpoint, lastActivityAt: now });
          report.adopted.push(row.userId);
        }
        return;
      case "provisioning":
      case "stopping":
      case "deleted":
        if (!stale) return;
        // Left half-done by a control plane that died; running ones are adopted, the rest wait for ensure().
        if (inst?.running && row.state !== "deleted") {
          await svc.setState(row.userId, "running", { endpoint: inst.endpoint, lastActivityAt: now });
          report.adopted.push(row.userId);
        } else if (row.state === "deleted") {
          await svc.delete(row.userId);
        } else {
          await svc.setState(row.userId, "stopped", { endpoint: null });
          report.markedStopped.push(row.userId);
        }
        return;
    }
  }

  private async handleCrash(row: Sandbox, listed: RuntimeInstance, report: ReconcileReport): Promise<void> {
    const svc = this.opts.service;
    // The list is a summary; the details (OOMKilled, the daemon's error) come from inspect.
    const inst = (await this.opts.runtime.inspect({ userId: row.userId }).catch(() => null)) ?? listed;
    if (inst.running) return;
    const reason = inst.error ?? `the agent exited with code ${inst.exitCode ?? "unknown"}`;
    if (!row.error) {
      // First sight of this crash: count it, and restart after the backoff.
      const crashes = row.crashCount + 1;
      if (crashes > this.maxCrashes) {
        await svc.setState(row.userId, "error", { error: `crashed ${crashes} times; last: ${reason}`, crashCount: crashes, endpoint: null });
        report.failed.push(row.userId);
        this.log.error({ userId: row.userId, crashes, reason }, "sandbox keeps crashing; giving up");
        return;
      }
      await this.opts.db
        .update(sandboxes)
        .set({ error: reason, crashCount: sql`${sandboxes.crashCount} + 1`, updatedAt: this.clock.now() })
        .where(inArray(sandboxes.id, [row.id]));
      this.log.warn({ userId: row.userId, crashes, reason }, "sandbox crashed; restarting after backoff");
      return;
    }
    const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.max(0, row.crashCount - 1));
    if (this.clock.now().getTime() - row.updatedAt.getTime() < delay) return;
    try {
      await svc.withLock(row.userId, async () => {
        const started = await this.opts.runtime.start({ userId: row.userId });
        if (!started.endpoint) throw new Error("restarted sandbox has no address");
        await this.opts.waitReady(svc.targetOf(row, started.endpoint), { timeoutMs: this.opts.readyTimeoutMs ?? 30_000 });
        await svc.setState(row.userId, "running", { endpoint: started.endpoint, error: null });
      });
    } catch (err) {
      // A failed restart is another crash: it counts toward giving up.
      const crashes = row.crashCount + 1;
      const message = `restart failed: ${(err as Error).message}`;
      if (crashes > this.maxCrashes) {
        await this.opts.runtime.stop({ userId: row.userId, timeoutSeconds: 2 }).catch(() => undefined);
        await svc.setState(row.userId, "error", { error: `crashed ${crashes} times; last: ${message}`, crashCount: crashes, endpoint: null });
        report.failed.push(row.userId);
      } else {
        await svc.setState(row.userId, "running", { error: message, crashCount: crashes });
      }
      return;
    }
    report.restarted.push(row.userId);
    this.log.info({ userId: row.userId, crashes: row.crashCount }, "restarted crashed sandbox");
  }
}
