import type { Db } from "./open-database";

/** How long a processed key is remembered; the control plane redelivers within minutes, not weeks. */
const KEEP_DAYS = 30;

export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  get(key: string): { method: string; result: unknown } | null {
    const row = this.db.prepare("SELECT method, result_json FROM idempotency_keys WHERE key = ?").get(key) as { method: string; result_json: string } | undefined;
    return row ? { method: row.method, result: JSON.parse(row.result_json) } : null;
  }

  /** Called inside the transaction that holds the method's effects. */
  put(key: string, method: string, result: unknown, now: Date): void {
    this.db.prepare("INSERT INTO idempotency_keys (key, method, result_json, created_at) VALUES (?, ?, ?, ?)").run(key, method, JSON.stringify(result), now.toISOString());
  }

  prune(now: Date): number {
    const cutoff = new Date(now.getTime() - KEEP_DAYS * 86_400_000).toISOString();
    return this.db.prepare("DELETE FROM idempotency_keys WHERE created_at < ?").run(cutoff).changes;
  }
}
