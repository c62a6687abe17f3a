import { setMaxListeners } from "node:events";
import type { Logger } from "../logger";
import type { Clock } from "../clock";

export interface WorkLoopOptions<J> {
  concurrency: number;
  /** How often an idle worker looks again without a wake-up (retries coming due, expired leases). */
  pollIntervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Claims one job in one statement, or returns undefined when nothing is claimable now. */
  claim(): Promise<J | undefined>;
  /** Works one job; `signal` aborts when the loop stops. Must not throw for job failures. */
  process(job: J, signal: AbortSignal): Promise<void>;
}

/**
 * N workers that claim and process jobs until stopped. Idle workers sleep until wake() (a NOTIFY)
 * or the poll interval, whichever comes first, so a lost notification costs at most one interval.
 */
export class WorkLoop<J> {
  private running = false;
  private workers: Promise<void>[] = [];
  private sleepers = new Set<() => void>();
  private readonly abort = new AbortController();
  /** Wake-ups that arrived while every worker was busy: the next idle check claims at once. */
  private pendingWake = false;

  constructor(private readonly opts: WorkLoopOptions<J>) {
    // Every job in flight listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.opts.concurrency; i++) this.workers.push(this.worker(i));
  }

  /**
   * One notification is roughly one new job: wake one idle worker, not all of them (a burst of
   * NOTIFYs would otherwise turn into a burst of empty claims). A worker that finds work keeps
   * claiming until there is none, so nothing waits longer than the poll interval.
   */
  wake(): void {
    const first = this.sleepers.values().next();
    if (first.done) this.pendingWake = true;
    else first.value();
  }

  wakeAll(): void {
    for (const s of [...this.sleepers]) s();
  }

  /** Stops claiming; aborts jobs in progress and waits for their workers to return. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort(new Error("stopping"));
    this.wakeAll();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(index: number): Promise<void> {
    let failures = 0;
    while (this.running) {
      let job: J | undefined;
      try {
        this.pendingWake = false;
        job = await this.opts.claim();
        failures = 0;
      } catch (err) {
        // The database is away: keep trying, slower each time, capped at a few intervals.
        failures++;
        this.opts.logger.error({ err, worker: index }, "claim failed");
        await this.sleep(this.opts.pollIntervalMs * Math.min(failures, 5));
        continue;
      }
      if (job === undefined) {
        if (!this.pendingWake) await this.sleep(this.opts.pollIntervalMs);
        continue;
      }
      try {
        await this.opts.process(job, this.abort.signal);
      } catch (err) {
        this.opts.logger.error({ err, worker: index }, "job processing threw");
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.sleepers.delete(done);
        timer.cancel();
        resolve();
      };
      const timer = this.opts.clock.setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
