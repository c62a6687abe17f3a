import { sql, type SQL } from "drizzle-orm";
import { Channel } from "@concierge/protocol";
import { rows, type Executor } from "../db/database";
import type { LeasedQueue, Reservation } from "../queue/leased-queue";
import { DEFAULT_PRIORITY, type NewInboundEvent } from "./types";

/** NOTIFY channel the dispatcher listens on; the payload is the user id. */
export const INBOX_NOTIFY_CHANNEL = "concierge_inbox";

export interface InboxEventView {
  id: string;
  kind: string;
  channel: string;
  providerId: string;
  status: string;
  priority: number;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  nextAttemptAt: string;
}

/**
 * The durable per-user inbox. Channels and the scheduler enqueue inside their own transaction, so
 * an event exists exactly when the webhook that carried it was accepted.
 */
export class Inbox {
  /** `turns`: this process's dispatcher, when it runs here, for events handed over as they are written. */
  constructor(private readonly opts: { turns?: { reserveTurn(): Reservation | undefined } } = {}) {}

  /** A free slot of this process's dispatcher (Dispatcher.reserveTurn), for enqueueCtes' `lease`. */
  reserveTurn(): Reservation | undefined {
    return this.opts.turns?.reserveTurn();
  }

  /**
   * Inserts the event in the caller's transaction; a repeat of (channel, providerId) is a no-op.
   * Returns true when the event is new. The NOTIFY is delivered when the caller commits.
   */
  async enqueue(tx: Executor, event: NewInboundEvent): Promise<boolean> {
    // Insert and NOTIFY in one statement (one round trip); the notification leaves on commit.
    const inserted = await rows<{ id: string }>(
      tx,
      sql`WITH src AS (SELECT ${event.userId}::text AS user_id), ${enqueueCtes(sql`src`, event)} SELECT id FROM inbox_notified`,
      "inbox.enqueue",
    );
    return inserted.length > 0;
  }

  /** The last `limit` events of a user, newest first, for the operator. */
  async recent(db: Executor, userId: string, limit: number): Promise<InboxEventView[]> {
    const r = await rows<Record<string, unknown>>(
      db,
      sql`SELECT id, kind, channel, provider_id, status, priority, attempts, last_error,
                 created_at, updated_at, completed_at, next_attempt_at
          FROM inbox_events WHERE user_id = ${userId}
          ORDER BY created_at DESC, seq DESC LIMIT ${limit}`,
    );
    return r.map((x) => ({
      id: String(x.id),
      kind: String(x.kind),
      channel: String(x.channel),
      providerId: String(x.provider_id),
      status: String(x.status),
      priority: Number(x.priority),
      attempts: Number(x.attempts),
      lastError: (x.last_error as string | null) ?? null,
      createdAt: iso(x.created_at)!,
      updatedAt: iso(x.updated_at)!,
      completedAt: iso(x.completed_at),
      nextAttemptAt: iso(x.next_attempt_at)!,
    }));
  }
}

/**
 * The CTEs that insert `event` for the user of `from` (a CTE with a user_id column; no row, no
 * event) and NOTIFY, for callers that fold the enqueue into a larger statement: `inbox_notified`
 * holds the new event's id, empty for a repeat of (channel, providerId), and must be read by the
 * statement so the NOTIFY runs. With `lease` (a reservation's, Inbox.reserveTurn) the event is
 * written already processing when its user has nothing open, not notified, and `inbox_leased`
 * returns it for the reservation's take().
 */
export function enqueueCtes(from: SQL, event: Omit<NewInboundEvent, "userId">, lease?: LeasedQueue): SQL {
  const channel = Channel.parse(event.channel);
  const priority = event.priority ?? DEFAULT_PRIORITY;
  if (!Number.isInteger(priority)) throw new RangeError("inbox priority must be a whole number");
  if (!event.providerId) throw new RangeError("inbox events need a providerId (the dedupe key)");
  const values = sql`${channel}, ${event.kind}, ${event.providerId}, ${JSON.stringify(event.payload ?? {})}::jsonb, ${priority}`;
  if (!lease) {
    return sql`inbox_ins AS (
      INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, priority)
      SELECT user_id, ${values} FROM ${from}
      ON CONFLICT (channel, provider_id) DO NOTHING
      RETURNING id, user_id),
    inbox_notified AS (SELECT id, pg_notify(${INBOX_NOTIFY_CHANNEL}, user_id) FROM inbox_ins)`;
  }
  // Handed over: written processing under the reservation's lease when the user has nothing open
  // (the claim's head rule). Two webhooks of one user racing both pass that check; the one-running
  // index makes the second a conflict (DO NOTHING), and it is written pending, notified, claimed.
  return sql`inbox_leased AS (
      INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, priority, status, attempts, lease_token, lease_expires_at)
      SELECT f.user_id, ${values}, 'processing', 1, ${lease.newLeaseToken()}, ${lease.leaseExpiry()} FROM ${from} f
      -- OFFSET 0 keeps this a per-row lookup by user (the open-rows index): as an anti-join, a
      -- generic plan made on young statistics read every open row of every user (7 ms at 1000 users).
      WHERE NOT EXISTS (SELECT 1 FROM inbox_events b WHERE b.user_id = f.user_id AND b.status IN ('pending', 'processing') OFFSET 0)
      ON CONFLICT DO NOTHING
      RETURNING *),
    inbox_ins AS (
      INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, priority)
      SELECT user_id, ${values} FROM ${from} WHERE NOT EXISTS (SELECT 1 FROM inbox_leased)
      ON CONFLICT (channel, provider_id) DO NOTHING
      RETURNING id, user_id),
    inbox_notified AS (SELECT id, pg_notify(${INBOX_NOTIFY_CHANNEL}, user_id) FROM inbox_ins
                       UNION ALL SELECT id, NULL FROM inbox_leased)`;
}

/** Raw rows carry timestamps as Date (pg) or string (either, depending on parser): normalise to ISO. */
export function iso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return (v instanceof Date ? v : new Date(String(v))).toISOString();
}
