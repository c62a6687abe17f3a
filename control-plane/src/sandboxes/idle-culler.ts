import { and, eq, lt } from "drizzle-orm";
import type { Db } from "../db/database";
import { sandboxes } from "../db/schema";
import type { Logger } from "../logger";
import { systemClock, type Clock } from "../clock";
import { Periodic } from "./periodic";
import type { SandboxService } from "./sandbox-service";

export interface IdleCullerOptions {
  db: Db;
  service: SandboxService;
  idleMinutes: number;
  logger: Logger;
  clock?: Clock;
  intervalMs?: number;
}

/** Stops sandboxes idle longer than SANDBOX_IDLE_MINUTES; the next ensure() wakes them. */
export class IdleCuller {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly loop: Periodic;

  constructor(private readonly opts: IdleCullerOptions) {
    this.log = opts.logger.child({ component: "idle-culler" });
    this.clock = opts.clock ?? systemClock;
    const every = opts.intervalMs ?? Math.min(60_000, Math.max(1_000, (opts.idleMinutes * 60_000) / 4));
    this.loop = new Periodic("idle-culler", every, () => this.runOnce(), this.clock, this.log);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass; returns the users whose sandboxes it stopped. */
  async runOnce(): Promise<string[]> {
    const cutoff = new Date(this.clock.now().getTime() - this.opts.idleMinutes * 60_000);
    const idle = await this.opts.db
      .select({ userId: sandboxes.userId })
      .from(sandboxes)
      .where(and(eq(sandboxes.state, "running"), lt(sandboxes.lastActivityAt, cutoff)));
    const stopped: string[] = [];
    for (const { userId } of idle) {
      if (this.opts.service.isBusy(userId)) continue;
      try {
        if (await this.opts.service.stopIfIdle(userId, cutoff)) {
          stopped.push(userId);
          this.log.info({ userId }, "stopped idle sandbox");
        }
      } catch (err) {
        this.log.warn({ userId, err: (err as Error).message }, "could not stop idle sandbox");
      }
    }
    return stopped;
  }
}
