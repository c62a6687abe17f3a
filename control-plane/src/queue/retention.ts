import { sql, type SQL } from "drizzle-orm";
import { rows, type Database } from "../db/database";
import type { Logger } from "../logger";
import type { Clock } from "../clock";

export interface RetentionOptions {
  database: Database;
  logger: Logger;
  clock: Clock;
  /** Finished rows older than this are deleted (QUEUE_RETENTION_DAYS); 0 keeps everything. */
  days: number;
  /** How often to sweep (default hourly). */
  intervalMs?: number;
  /** Rows per DELETE: short statements that never hold many locks or bloat one transaction. */
  batch?: number;
  /** Batches per table per sweep, so one sweep is bounded; the next one continues. */
  maxBatches?: number;
}

/** Finished rows of each queue and the time that makes them old; both ride a partial index. */
const TABLES: { table: string; finished: SQL; at: SQL }[] = [
  { table: "inbox_events", finished: sql`status IN ('done', 'dead')`, at: sql`completed_at` },
  { table: "outbox", finished: sql`status IN ('sent', 'failed')`, at: sql`updated_at` },
];

/**
 * Deletes answered and dead-lettered inbox events and sent or failed outbox rows once they are
 * older than the retention period: their payloads hold message text, and nobody needs a month-old
 * delivery record. Open rows (pending, processing, sending) are never touched, whatever their age.
 */
export class Retention {
  private timer?: { cancel(): void };
  private running = false;

  constructor(private readonly opts: RetentionOptions) {}

  start(): void {
    if (this.opts.days <= 0 || this.running) return;
    this.running = true;
    const tick = () => {
      this.timer = this.opts.clock.setTimeout(() => {
        void this.sweep()
          .catch((err) => this.opts.logger.warn({ err }, "retention sweep failed; trying again later"))
          .finally(() => this.running && tick());
      }, this.opts.intervalMs ?? 3_600_000);
    };
    void this.sweep().catch((err) => this.opts.logger.warn({ err }, "retention sweep failed; trying again later"));
    tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
  }

  /** One sweep; returns the rows deleted per table. */
  async sweep(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (this.opts.days <= 0) return out;
    const cutoff = new Date(this.opts.clock.now().getTime() - this.opts.days * 86_400_000).toISOString();
    const batch = this.opts.batch ?? 500;
    for (const t of TABLES) {
      let total = 0;
      for (let i = 0; i < (this.opts.maxBatches ?? 200); i++) {
        const table = sql.raw(t.table);
        const [r] = await rows<{ n: number }>(
          this.opts.database.db,
          sql`WITH gone AS (
                DELETE FROM ${table} WHERE id IN (
                  SELECT id FROM ${table} WHERE ${t.finished} AND ${t.at} < ${cutoff}::timestamptz LIMIT ${batch})
                RETURNING 1)
              SELECT count(*)::int AS n FROM gone`,
        );
        total += r?.n ?? 0;
        if ((r?.n ?? 0) < batch) break;
      }
      out[t.table] = total;
    }
    if (Object.values(out).some((n) => n > 0)) this.opts.logger.info({ deleted: out, olderThan: cutoff }, "retention: deleted finished queue rows");
    return out;
  }
}
