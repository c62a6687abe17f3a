import { randomUUID } from "node:crypto";
import { sql, type SQL } from "drizzle-orm";
import { Channel } from "@concierge/protocol";
import { rows, type Database, type Executor } from "../db/database";
import type { Logger } from "../logger";
import type { Registry } from "prom-client";
import { systemClock, type Clock } from "../clock";
import { DEFAULT_RETRY, validateRetryPolicy, type RetryPolicy } from "../retry";
import { CLAIMED_USER_COLUMNS, OutboxSender, type SendReservation } from "./outbox-sender";
import type { LeasedQueue } from "../queue/leased-queue";
import type { ChannelAdapter, NewOutboundMessage } from "./types";

/** NOTIFY channel the sender listens on; the payload is the user id. */
export const OUTBOX_NOTIFY_CHANNEL = "concierge_outbox";

export interface OutboxOptions {
  database: Database;
  logger: Logger;
  clock?: Clock;
  metrics?: Registry;
  /** Sends in parallel (different users or channels; one (user, channel) is always in order). */
  concurrency?: number;
  retry?: RetryPolicy;
  /** How long a claimed send may take before another sender may take it over. */
  leaseMs?: number;
  pollIntervalMs?: number;
  /** The queue worker id (see queue/worker-id.ts); a fresh one when unset. */
  workerId?: string;
}

/**
 * Durable outbound sends. `enqueue` writes rows in the caller's transaction (with a messages row
 * in state "queued" for each); the sender drains them per (user, channel) in order through the
 * channel's adapter. A row whose channel has no adapter yet simply waits.
 */
export class Outbox {
  private readonly adapters = new Map<Channel, ChannelAdapter>();
  private sender?: OutboxSender;

  constructor(private readonly opts: OutboxOptions) {
    if (opts.retry) validateRetryPolicy(opts.retry);
  }

  registerAdapter(adapter: ChannelAdapter): void {
    this.adapters.set(adapter.channel, adapter);
    // Rows for this channel may have been waiting for it.
    this.sender?.wakeAll();
  }

  /** Inserts the messages in order, in the caller's transaction. Returns the outbox row ids. */
  async enqueue(tx: Executor, messages: NewOutboundMessage[]): Promise<string[]> {
    if (messages.length === 0) return [];
    const r = await rows<{ id: string }>(tx, sql`WITH ${outboxInsertCtes(messages)} SELECT id FROM outbox_notified ORDER BY seq`, "outbox.enqueue");
    return r.map((x) => x.id);
  }

  /**
   * For a caller about to write messages in a statement of its own (the dispatcher completing a
   * turn): when this process's sender can take the first of them at once (it runs, has an adapter
   * for the channel and a free slot), a reservation. Its `lease` goes to outboxInsertCtes, which
   * then writes that row already leased to the sender; `take` hands over what the statement
   * returned in `outbox_leased` (or nothing) and must be called once. The row is sent without a
   * claim round trip or a notification; a crash before it is sent leaves a lease that expires (or
   * that this worker takes back when it restarts) like any claimed row's.
   */
  reserveSend(channel: Channel): SendReservation | undefined {
    return this.sender?.reserve(channel);
  }

  /** Starts draining: LISTEN for new rows, poll as a fallback. */
  async start(): Promise<void> {
    if (this.sender) return;
    this.sender = new OutboxSender({
      database: this.opts.database,
      logger: this.opts.logger,
      clock: this.opts.clock ?? systemClock,
      metrics: this.opts.metrics,
      adapters: this.adapters,
      // Sends in flight hold no connection between their statements; at 64 the sender was the
      // bottleneck of 1000 users' replies (bench route, 2 s turns).
      concurrency: this.opts.concurrency ?? 256,
      retry: this.opts.retry ?? DEFAULT_RETRY,
      leaseMs: this.opts.leaseMs ?? 10_000,
      pollIntervalMs: this.opts.pollIntervalMs ?? 1000,
      workerId: this.opts.workerId,
    });
    await this.sender.start();
  }

  async stop(): Promise<void> {
    const s = this.sender;
    this.sender = undefined;
    await s?.stop();
  }
}

/**
 * The common table expressions that write `messages` (non-empty) as messages rows ("queued") and
 * outbox rows, in order, and NOTIFY the sender; they end in `outbox_notified (id, seq)`. With
 * `gate`, the name of an earlier CTE, rows are written only if that CTE returned a row: the
 * dispatcher completes an event and writes its replies in one statement (one round trip, atomic
 * without a transaction) and writes nothing when its lease was lost.
 *
 * With `lease` (a reservation's, see Outbox.reserveSend) the first message is written already
 * claimed by that queue when it is the head of its (user, channel), i.e. nothing of that user and
 * channel is still unsent: the claim's own head rule, so the order per (user, channel) holds. It
 * is then not notified, and `outbox_leased` returns it with what a claim reads beside it.
 */
export function outboxInsertCtes(messages: NewOutboundMessage[], gate?: string, lease?: LeasedQueue): SQL {
  const checked = messages.map((m) => {
    const channel = Channel.parse(m.channel);
    if (m.kind !== "text" && m.kind !== "template") throw new RangeError(`unknown outbound kind ${String(m.kind)}`);
    // The messages row id is chosen here so the outbox row can name it in the same statement.
    return { ...m, channel, messageId: randomUUID() };
  });
  const where = gate ? sql.raw(`WHERE EXISTS (SELECT 1 FROM ${gate.replace(/[^a-z_]/g, "")})`) : sql``;
  const messageRows = sql.join(
    checked.map((m, i) => sql`(${i}::int, ${m.messageId}::text, ${m.userId}::text, ${m.channel}::text, ${m.body}::text)`),
    sql`, `,
  );
  const outboxRows = sql.join(
    checked.map(
      (m, i) =>
        sql`(${i}::int, ${m.userId}::text, ${m.channel}::text, ${m.kind}::text, ${m.body}::text, ${m.proactive ?? false}::boolean,
             ${m.inboxId ?? null}::text, ${m.meta ? JSON.stringify(m.meta) : null}::jsonb, ${m.messageId}::text)`,
    ),
    sql`, `,
  );
  const lead = lease
    ? sql`v.ord = 0 AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.user_id = v.user_id AND b.channel = v.channel AND b.status IN ('pending', 'sending') OFFSET 0)`
    : sql`false`;
  // Rows go in VALUES order, so seq (the send order) follows the order the caller gave.
  return sql`outbox_messages AS (
      INSERT INTO messages (id, user_id, direction, channel, content, status)
      SELECT v.id, v.user_id, 'out', v.channel, v.content, 'queued'
      FROM (VALUES ${messageRows}) AS v(ord, id, user_id, channel, content) ${where} ORDER BY v.ord),
    outbox_rows AS (
      INSERT INTO outbox (user_id, channel, kind, body, proactive, inbox_id, meta, message_id, status, attempts, lease_token, lease_expires_at)
      SELECT v.user_id, v.channel, v.kind, v.body, v.proactive, v.inbox_id, v.meta, v.message_id,
             CASE WHEN h.lead THEN 'sending' ELSE 'pending' END, CASE WHEN h.lead THEN 1 ELSE 0 END,
             CASE WHEN h.lead THEN ${lease ? lease.newLeaseToken() : sql`NULL`} END,
             CASE WHEN h.lead THEN ${lease ? lease.leaseExpiry() : sql`NULL::timestamptz`} END
      FROM (VALUES ${outboxRows}) AS v(ord, user_id, channel, kind, body, proactive, inbox_id, meta, message_id),
           -- OFFSET 0 keeps h a subquery evaluated once per row: pulled up, its head check was
           -- copied into each of the four CASEs above (four index probes per reply instead of one).
           LATERAL (SELECT ${lead} AS lead OFFSET 0) h ${where} ORDER BY v.ord
      RETURNING *),
    outbox_notified AS (
      SELECT id, seq, CASE WHEN status = 'pending' THEN pg_notify(${OUTBOX_NOTIFY_CHANNEL}, user_id) END FROM outbox_rows)${
      lease
        ? sql`,
    outbox_leased AS (
      SELECT o.*, ${CLAIMED_USER_COLUMNS} FROM outbox_rows o JOIN users u ON u.id = o.user_id WHERE o.status = 'sending')`
        : sql``
    }`;
}
