import type { Clock } from "../clock";
import type { Logger } from "../logger";

export interface OpenRowsStatisticsOptions {
  /** Refreshes the queue table's statistics (LeasedQueue.analyze). */
  analyze(): Promise<void>;
  clock: Clock;
  logger: Logger;
  /** No refresh below this many jobs in flight: a small open set costs nothing however it is read. */
  minJobs?: number;
  /** A refresh when the jobs in flight reach this multiple of the fewest seen since the last one. */
  growth?: number;
  /** At most one refresh per this many ms (per queue and process). */
  minIntervalMs?: number;
}

/**
 * Keeps PostgreSQL's statistics of a queue table in step with its open rows.
 *
 * A queue table is mostly history: when autovacuum analyzes it, at a quiet moment, almost nothing
 * is open, and the planner then takes the open rows for one row. Every plan made on that belief
 * reads "all the open rows" as if it were free, nested inside a loop over them: in a burst of a
 * thousand users a claim or a batch of completions read every open row once per row (up to 28 ms
 * and 31,000 buffers a claim, docs/routing.md). Autovacuum does not come back in time: it waits
 * for a tenth of the table to change, which in a table holding a month of history a burst never
 * does.
 *
 * So the queue says when its open set grew: when this process's jobs in flight reach `minJobs` and
 * `growth` times the fewest it had since its last refresh, it runs ANALYZE on the table (in the
 * background; SKIP_LOCKED, so it never waits for autovacuum). That also replaces every cached plan
 * of statements on the table. At most one per `minIntervalMs`; a steady load does not repeat it.
 */
export class OpenRowsStatistics {
  private fewest = 0;
  private last = -Infinity;
  private running = false;
  private readonly minJobs: number;
  private readonly growth: number;
  private readonly minIntervalMs: number;

  constructor(private readonly opts: OpenRowsStatisticsOptions) {
    this.minJobs = opts.minJobs ?? 100;
    this.growth = opts.growth ?? 4;
    this.minIntervalMs = opts.minIntervalMs ?? 30_000;
  }

  /** The number of jobs in flight now (called as it changes). */
  observe(inFlight: number): void {
    if (inFlight < this.fewest) this.fewest = inFlight;
    if (inFlight < this.minJobs || inFlight < this.growth * this.fewest || this.running) return;
    const now = this.opts.clock.now().getTime();
    if (now - this.last < this.minIntervalMs) return;
    this.last = now;
    this.fewest = inFlight;
    this.running = true;
    const started = performance.now();
    this.opts
      .analyze()
      .then(
        () => this.opts.logger.info({ inFlight, ms: Math.round(performance.now() - started) }, "open rows grew; queue statistics refreshed"),
        (err) => this.opts.logger.warn({ err, inFlight }, "could not refresh the queue's statistics"),
      )
      .finally(() => {
        this.running = false;
      });
  }
}
