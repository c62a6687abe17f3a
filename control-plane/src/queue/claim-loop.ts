import type { Logger } from "../logger";
import type { Clock } from "../clock";
import type { LeasedQueue, Reservation } from "./leased-queue";
import { OpenRowsStatistics } from "./open-rows-statistics";

/** What every claimed job carries: its row id and the lease token that proves the claim. */
export interface LeasedJob {
  id: string;
  leaseToken: string;
}

export interface ClaimLoopOptions<J extends LeasedJob> {
  /** Jobs in flight at once (a semaphore, not a worker count: idle cost does not grow with it). */
  capacity: number;
  /** The one poll timer: retries coming due, expired leases, a lost notification. */
  pollIntervalMs: number;
  /** How often the leases of every job in flight are renewed, in one statement. */
  renewEveryMs: number;
  clock: Clock;
  logger: Logger;
  /** Claims up to n jobs in one statement. */
  claim(n: number): Promise<J[]>;
  /** Renews the leases of these jobs; returns the tokens still held. */
  renew(jobs: LeasedJob[]): Promise<Set<string>>;
  /**
   * Works one job; `signal` aborts on stop or when its lease was lost. Must not throw for job
   * failures. Resolves false when it knows nothing new became claimable (the user has no next
   * row): the loop then skips the claim it would run for the freed slot.
   */
  process(job: J, signal: AbortSignal): Promise<boolean | void>;
  /** Refreshes the queue table's statistics (LeasedQueue.analyze), when the jobs in flight say so (OpenRowsStatistics). */
  analyze?(): Promise<void>;
}

/** Rows per claim statement: a burst is taken in a few round trips, not one huge statement. */
const MAX_BATCH = 100;

/**
 * One claim loop per queue per process. A pass claims as many jobs as there are free slots (batch
 * claim), runs them, and claims again when a slot frees up or a wake-up (NOTIFY) arrives while
 * slots are free. Wake-ups during a pass coalesce into one more pass, so a burst of notifications
 * costs a few statements, not one each. Idle, it runs one claim per poll interval.
 */
export class ClaimLoop<J extends LeasedJob> {
  private running = false;
  private passing = false;
  private again = false;
  private failures = 0;
  /** A pass stopped for want of a free slot: heads may be waiting, so a freed slot claims. */
  private starved = false;
  /** Tokens the last renewal did not find (see scheduleRenewal). */
  private missed = new Set<string>();
  /** Slots promised by reserve() to jobs that arrive already claimed, through adopt(). */
  private reserved = 0;
  private readonly inFlight = new Map<string, { job: J; abort: AbortController; done: Promise<unknown> }>();
  private poll?: { cancel(): void };
  private renewal?: { cancel(): void };
  private readonly statistics?: OpenRowsStatistics;

  constructor(private readonly opts: ClaimLoopOptions<J>) {
    if (!(opts.capacity >= 1)) throw new RangeError("claim loop capacity must be >= 1");
    if (opts.analyze) this.statistics = new OpenRowsStatistics({ analyze: opts.analyze, clock: opts.clock, logger: opts.logger });
  }

  get size(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedulePoll();
    this.scheduleRenewal();
    this.wake();
  }

  /** Something may be claimable: look now (or right after the pass in progress). */
  wake(): void {
    if (!this.running) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    void this.pass();
  }

  /**
   * Promises a free slot to a job that another part of this process will claim in its own
   * statement (a row written already leased to this loop's worker): no claim round trip, no
   * notification. On true the caller calls adopt() exactly once, with the job or without.
   */
  reserve(): boolean {
    if (!this.running || this.inFlight.size + this.reserved >= this.opts.capacity) return false;
    this.reserved++;
    return true;
  }

  /**
   * Runs a job claimed elsewhere in the slot reserve() promised (or just frees the slot). False
   * when the loop stopped meanwhile: the caller gives the job back.
   */
  adopt(job: J | undefined): boolean {
    this.reserved--;
    if (!job) {
      if (this.starved) this.wake();
      return true;
    }
    if (!this.running) return false;
    this.run(job);
    return true;
  }

  /** Stops claiming; aborts the jobs in flight and waits for them to return. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.poll?.cancel();
    this.renewal?.cancel();
    // One controller per job, aborted from here: cheaper per job than AbortSignal.any over a
    // shared stop signal, which costs a signal, two listeners and weak references for every job.
    for (const f of this.inFlight.values()) f.abort.abort(new Error("stopping"));
    await Promise.all([...this.inFlight.values()].map((f) => f.done));
  }

  private async pass(): Promise<void> {
    this.passing = true;
    try {
      do {
        this.again = false;
        while (this.running) {
          const free = this.opts.capacity - this.inFlight.size - this.reserved;
          if (free <= 0) {
            this.starved = true;
            break;
          }
          const n = Math.min(free, MAX_BATCH);
          let jobs: J[];
          try {
            jobs = await this.opts.claim(n);
            if (this.failures > 0) this.opts.logger.info({ failures: this.failures }, "claiming works again");
            this.failures = 0;
          } catch (err) {
            // The database is away: the poll timer tries again; say so once, then every minute or so.
            if (this.failures++ % 60 === 0) this.opts.logger.error({ err, failures: this.failures }, "claim failed");
            return;
          }
          for (const job of jobs) this.run(job);
          if (jobs.length < n) {
            this.starved = false;
            break;
          }
        }
      } while (this.again && this.running && this.inFlight.size + this.reserved < this.opts.capacity);
    } finally {
      this.passing = false;
    }
  }

  private run(job: J): void {
    const abort = new AbortController();
    // Claimed while stop() was under way: the job sees a stop, as if it had been in flight.
    if (!this.running) abort.abort(new Error("stopping"));
    const done = this.opts
      .process(job, abort.signal)
      .catch((err) => void this.opts.logger.error({ err, id: job.id }, "job processing threw"))
      .then((more) => {
        this.inFlight.delete(job.leaseToken);
        this.statistics?.observe(this.inFlight.size);
        // A freed slot, and maybe a new head (the next event of this user): look again, unless
        // the job knows its user has nothing next and no head was left waiting for a slot.
        if (more !== false || this.starved) this.wake();
      });
    this.inFlight.set(job.leaseToken, { job, abort, done });
    this.statistics?.observe(this.inFlight.size);
  }

  private schedulePoll(): void {
    this.poll = this.opts.clock.setTimeout(() => {
      if (!this.running) return;
      this.wake();
      this.schedulePoll();
    }, this.opts.pollIntervalMs);
  }

  /**
   * One statement renews every lease this loop holds. A job whose row was not renewed twice in a
   * row has lost its lease (someone took the row over) and is aborted; once is not enough, since a
   * job may complete between the snapshot of tokens and the statement.
   */
  private scheduleRenewal(): void {
    this.renewal = this.opts.clock.setTimeout(async () => {
      if (!this.running) return;
      const tokens = [...this.inFlight.keys()];
      if (tokens.length > 0) {
        try {
          const held = await this.opts.renew(tokens.flatMap((t) => this.inFlight.get(t)?.job ?? []));
          const missing = new Set<string>();
          for (const t of tokens) {
            const f = this.inFlight.get(t);
            if (!f || held.has(t)) continue;
            if (this.missed.has(t)) {
              this.opts.logger.warn({ id: f.job.id }, "lease lost while working; aborting this attempt");
              f.abort.abort(new Error("lease lost"));
            } else missing.add(t);
          }
          this.missed = missing;
        } catch (err) {
          this.opts.logger.warn({ err, jobs: tokens.length }, "could not renew leases");
        }
      }
      if (this.running) this.scheduleRenewal();
    }, this.opts.renewEveryMs);
  }
}

/**
 * A free slot of `loop` as a Reservation on `lease`: the row another statement wrote already leased
 * becomes a job the loop runs at once; if the loop stopped meanwhile, `giveBack` returns it now
 * rather than after its lease. Undefined when no slot is free. (The inbox's hand-off from a
 * webhook, the outbox's from a completed turn.)
 */
export function reserveSlot<J extends LeasedJob>(loop: ClaimLoop<J>, lease: LeasedQueue, toJob: (row: Record<string, unknown>) => J, giveBack: (job: J) => void): Reservation | undefined {
  if (!loop.reserve()) return undefined;
  return {
    lease,
    take: (row) => {
      const job = row ? toJob(row) : undefined;
      if (!loop.adopt(job) && job) giveBack(job);
    },
  };
}
