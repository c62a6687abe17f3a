import type { Clock } from "../clock";
import type { Logger } from "../logger";
import { isWithinActiveHours, nextHeartbeatSlot } from "./active-hours";
import type { ScheduleStore, ClaimedSchedule } from "./schedule-store";
import type { SchedulerMetrics } from "./scheduler-metrics";
import { scheduleProviderId, type EnqueueInbound, type ScheduledEventPayload } from "./types";
import { DEFAULT_PRIORITY } from "../inbox/types";
import type { Tx } from "../db/database";

export interface SchedulerOptions {
  store: ScheduleStore;
  enqueue: EnqueueInbound;
  clock: Clock;
  logger: Logger;
  metrics: SchedulerMetrics;
  heartbeatIntervalMinutes: number;
  /** The safety poll; an exact timer to the earliest due row fires sooner (default 5000). */
  pollMs?: number;
  /** Rows claimed per statement (default 100). */
  batchSize?: number;
}

/** An alarm the agent has not answered yet is asked again, backing off: 5 min, 10, 20 … at most 6 h. */
export function alarmRecheckDelayMs(claims: number): number {
  return Math.min(6 * 3600_000, 5 * 60_000 * 2 ** Math.max(0, claims - 1));
}

/**
 * The scheduler loop: polls every few seconds and also sleeps exactly until the earliest
 * next_run_at, so a reminder set for 06:00 is handed to the inbox at 06:00. Claiming a due row and
 * enqueuing its event are one transaction; the inbox row per slot (providerId) makes a re-claim
 * after a crash a no-op, so an event is neither lost nor doubled.
 */
export class Scheduler {
  private readonly log: Logger;
  private timer: { cancel(): void } | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private wakeAt: Date | null = null;

  constructor(private readonly opts: SchedulerOptions) {
    this.log = opts.logger.child({ component: "scheduler" });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.nudge();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.wakeAt = null;
    await this.running?.catch(() => undefined);
  }

  /** When the armed timer fires next (the earliest due row, or the next poll). */
  get nextWakeAt(): Date | null {
    return this.wakeAt;
  }

  /** Resolves once no pass is running (tests step a ManualClock between passes). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Runs a pass soon (an alarm.set may be earlier than the armed timer). */
  nudge(): void {
    if (this.stopped) return;
    void this.tick().catch(() => undefined);
  }

  /** One pass: create missing heartbeat rows, claim everything due, re-arm the timer. */
  tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } catch (err) {
        this.log.error({ err }, "scheduler pass failed");
      } finally {
        this.running = null;
        await this.arm().catch((err) => this.log.error({ err }, "could not arm scheduler timer"));
      }
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    const { store } = this.opts;
    await store.ensureHeartbeats(this.opts.heartbeatIntervalMinutes);
    const batch = this.opts.batchSize ?? 100;
    // Bounded: a backlog larger than this is finished by the next pass.
    for (let i = 0; i < 50; i++) {
      const claimed = await store.claimDue(batch, (tx, c) => this.onClaim(tx, c));
      if (claimed.length < batch) break;
    }
  }

  private async onClaim(tx: Tx, c: ClaimedSchedule): Promise<Date | null> {
    const interval = this.opts.heartbeatIntervalMinutes;
    if (c.kind === "heartbeat") {
      const next = nextHeartbeatSlot(c.now, c.hours, interval);
      // A heartbeat is about "now": a slot missed while the control plane was down is dropped,
      // not replayed (late nudges are noise); the next slot comes as usual.
      if (c.now.getTime() - c.slot.getTime() > interval * 60_000) {
        this.opts.metrics.heartbeatSkipped.inc({ reason: "missed" });
        return next;
      }
      if (!isWithinActiveHours(c.slot, c.hours)) {
        this.opts.metrics.heartbeatSkipped.inc({ reason: "inactive" });
        return next;
      }
      await this.enqueue(tx, c);
      return next;
    }
    // An alarm is never dropped: late, it still fires (once: the slot is the dedupe key). Until
    // the agent answers with its next time, ask again later in case this event dead-letters.
    await this.enqueue(tx, c);
    return new Date(c.now.getTime() + alarmRecheckDelayMs(c.claims));
  }

  private async enqueue(tx: Tx, c: ClaimedSchedule): Promise<void> {
    const payload: ScheduledEventPayload = { scheduleId: c.id, slot: c.slot.toISOString() };
    await this.opts.enqueue(tx, {
      userId: c.userId,
      channel: "system",
      kind: c.kind,
      providerId: scheduleProviderId(c.kind, c.userId, c.slot),
      payload,
      priority: DEFAULT_PRIORITY,
    });
    this.opts.metrics.scheduled.inc({ kind: c.kind });
    this.log.debug({ userId: c.userId, kind: c.kind, slot: c.slot.toISOString() }, "scheduled event enqueued");
  }

  private async arm(): Promise<void> {
    if (this.stopped) return;
    const pollMs = this.opts.pollMs ?? 5000;
    const earliest = await this.opts.store.earliestNextRun();
    const now = await this.opts.store.now();
    let delay = pollMs;
    if (earliest) {
      const until = earliest.getTime() - now.getTime();
      // Due but not claimed means another replica holds it right now: look again shortly, not in a spin.
      delay = Math.min(pollMs, until > 0 ? until : 250);
    }
    if (this.stopped) return;
    this.timer?.cancel();
    this.wakeAt = new Date(this.opts.clock.now().getTime() + delay);
    this.timer = this.opts.clock.setTimeout(() => this.nudge(), delay);
  }
}
