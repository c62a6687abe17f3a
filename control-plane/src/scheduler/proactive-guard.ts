import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { rows, type Database, type Tx } from "../db/database";
import { localDay } from "./active-hours";

export type Verdict = { send: true } | { send: false; reason: "duplicate" | "cap" };

/** Case, spacing, punctuation and emoji do not make a nudge new: "Lunch?" and "lunch ?!" are one text. */
export function normalizeProactiveText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

export function proactiveTextHash(text: string): string {
  return createHash("sha256").update(normalizeProactiveText(text), "utf8").digest("hex");
}

const DAY_MS = 24 * 3600_000;

/**
 * "Never spammy", as data: before a proactive message is queued, this checks what was already
 * said and records the new one. A retry of the same inbox event (same sourceKey) is let through,
 * so a crash between recording and queuing loses nothing. Each check-and-record runs under a
 * per-user advisory lock, so two events of one user can never both pass.
 */
export class ProactiveGuard {
  constructor(private readonly database: Database) {}

  /** A heartbeat text: not the same text within 24 hours, at most `dailyCap` per local day. */
  admitHeartbeat(o: { userId: string; text: string; sourceKey: string; now: Date; timezone: string; dailyCap: number }): Promise<Verdict> {
    const key = proactiveTextHash(o.text);
    const day = localDay(o.now, o.timezone);
    return this.locked(o.userId, async (tx) => {
      if (await this.isRetry(tx, o.userId, "heartbeat", key, o.sourceKey)) return { send: true };
      const since = new Date(o.now.getTime() - DAY_MS).toISOString();
      const [dup] = await rows(
        tx,
        sql`SELECT 1 FROM proactive_sends WHERE user_id = ${o.userId} AND kind = 'heartbeat' AND dedupe_key = ${key} AND sent_at > ${since}::timestamptz LIMIT 1`,
      );
      if (dup) return { send: false, reason: "duplicate" };
      const [count] = await rows<{ n: number }>(
        tx,
        sql`SELECT count(*)::int AS n FROM proactive_sends WHERE user_id = ${o.userId} AND kind = 'heartbeat' AND local_day = ${day}`,
      );
      if ((count?.n ?? 0) >= o.dailyCap) return { send: false, reason: "cap" };
      await this.record(tx, o.userId, "heartbeat", key, o.sourceKey, day, o.now);
      return { send: true };
    });
  }

  /**
   * A reminder occurrence (or the phone call for it): once per (reminder id, due time), ever. Not
   * capped and not deduped by text: the user asked for it, and a daily "take your pills" must go
   * out every day even when a DST change makes two of them 23 hours apart.
   */
  admitOccurrence(o: { userId: string; kind: "reminder" | "call"; occurrenceKey: string; sourceKey: string; now: Date; timezone: string }): Promise<Verdict> {
    return this.locked(o.userId, async (tx) => {
      if (await this.isRetry(tx, o.userId, o.kind, o.occurrenceKey, o.sourceKey)) return { send: true };
      const [dup] = await rows(
        tx,
        sql`SELECT 1 FROM proactive_sends WHERE user_id = ${o.userId} AND kind = ${o.kind} AND dedupe_key = ${o.occurrenceKey} LIMIT 1`,
      );
      if (dup) return { send: false, reason: "duplicate" };
      await this.record(tx, o.userId, o.kind, o.occurrenceKey, o.sourceKey, localDay(o.now, o.timezone), o.now);
      return { send: true };
    });
  }

  private locked<T>(userId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.database.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`proactive:${userId}`}, 0))`);
      return fn(tx);
    });
  }

  private async isRetry(tx: Tx, userId: string, kind: string, key: string, sourceKey: string): Promise<boolean> {
    const [r] = await rows(
      tx,
      sql`SELECT 1 FROM proactive_sends WHERE user_id = ${userId} AND kind = ${kind} AND dedupe_key = ${key} AND source_key = ${sourceKey} LIMIT 1`,
    );
    return r !== undefined;
  }

  private async record(tx: Tx, userId: string, kind: string, key: string, sourceKey: string, day: string, now: Date): Promise<void> {
    await tx.execute(
      sql`INSERT INTO proactive_sends (user_id, kind, dedupe_key, source_key, local_day, sent_at)
          VALUES (${userId}, ${kind}, ${key}, ${sourceKey}, ${day}, ${now.toISOString()}::timestamptz)`,
    );
  }
}
