import { and, inArray, lt } from "drizzle-orm";
import type { Db } from "../db/database";
import { sandboxes, type SandboxState } from "../db/schema";
import type { Logger } from "../logger";
import { systemClock, type Clock } from "../clock";
import { Periodic } from "./periodic";
import type { SandboxService } from "./sandbox-service";

export interface IdleCullerOptions {
  db: Db;
  service: SandboxService;
  /** SANDBOX_IDLE_MINUTES: stop a sandbox (running or frozen) idle this long. */
  idleMinutes: number;
  /**
   * SANDBOX_FREEZE_MINUTES: freeze a running sandbox idle this long, before it is stopped. Off when
   * absent, 0, not shorter than idleMinutes, or when the runtime cannot freeze.
   */
  freezeMinutes?: number;
  logger: Logger;
  clock?: Clock;
  intervalMs?: number;
}

export interface CullReport {
  frozen: string[];
  stopped: string[];
}

/**
 * Idle sandboxes go down in two tiers: first frozen (no CPU, memory kept, woken in tens of ms),
 * then, after the longer idle time, stopped (no memory; the next ensure() starts it again).
 */
export class IdleCuller {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly loop: Periodic;
  private readonly freezeMinutes: number | null;

  constructor(private readonly opts: IdleCullerOptions) {
    this.log = opts.logger.child({ component: "idle-culler" });
    this.clock = opts.clock ?? systemClock;
    const f = opts.freezeMinutes;
    this.freezeMinutes = f && f > 0 && f < opts.idleMinutes && opts.service.canFreeze ? f : null;
    const shortest = this.freezeMinutes ?? opts.idleMinutes;
    const every = opts.intervalMs ?? Math.min(60_000, Math.max(1_000, (shortest * 60_000) / 4));
    this.loop = new Periodic("idle-culler", every, () => this.pass(), this.clock, this.log);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass; returns the users whose sandboxes it stopped. */
  async runOnce(): Promise<string[]> {
    return (await this.pass()).stopped;
  }

  /** One pass: stops what was idle past idleMinutes, then freezes what was idle past freezeMinutes. */
  async pass(): Promise<CullReport> {
    const now = this.clock.now().getTime();
    const stopCutoff = new Date(now - this.opts.idleMinutes * 60_000);
    const stopped = await this.each(["running", "frozen"], stopCutoff, "stopped", (u) => this.opts.service.stopIfIdle(u, stopCutoff));
    if (this.freezeMinutes === null) return { frozen: [], stopped };
    const freezeCutoff = new Date(now - this.freezeMinutes * 60_000);
    const frozen = await this.each(["running"], freezeCutoff, "frozen", (u) => this.opts.service.freezeIfIdle(u, freezeCutoff));
    return { frozen, stopped };
  }

  private async each(states: SandboxState[], cutoff: Date, done: string, act: (userId: string) => Promise<boolean>): Promise<string[]> {
    const idle = await this.opts.db
      .select({ userId: sandboxes.userId })
      .from(sandboxes)
      .where(and(inArray(sandboxes.state, states), lt(sandboxes.lastActivityAt, cutoff)));
    const acted: string[] = [];
    for (const { userId } of idle) {
      if (this.opts.service.isBusy(userId)) continue;
      try {
        if (await act(userId)) {
          acted.push(userId);
          this.log.info({ userId }, `${done} idle sandbox`);
        }
      } catch (err) {
        this.log.warn({ userId, err: (err as Error).message }, `idle sandbox could not be ${done}`);
      }
    }
    return acted;
  }
}
