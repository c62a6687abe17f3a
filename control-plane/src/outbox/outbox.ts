import { randomUUID } from "node:crypto";
import { sql, type SQL } from "drizzle-orm";
import { Channel } from "@concierge/protocol";
import { rows, type Database, type Executor } from "../db/database";
import type { Logger } from "../logger";
import type { Registry } from "prom-client";
import { systemClock, type Clock } from "../clock";
import { DEFAULT_RETRY, validateRetryPolicy, type RetryPolicy } from "../retry";
import { OutboxSender } from "./outbox-sender";
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
    const r = await rows<{ id: string }>(tx, sql`WITH ${outboxInsertCtes(messages)} SELECT id FROM outbox_notified ORDER BY seq`);
    return r.map((x) => x.id);
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
 */
export function outboxInsertCtes(messages: NewOutboundMessage[], gate?: string): SQL {
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
  // Rows go in VALUES order, so seq (the send order) follows the order the caller gave.
  return sql`outbox_messages AS (
      INSERT INTO messages (id, user_id, direction, channel, content, status)
      SELECT v.id, v.user_id, 'out', v.channel, v.content, 'queued'
      FROM (VALUES ${messageRows}) AS v(ord, id, user_id, channel, content) ${where} ORDER BY v.ord),
    outbox_rows AS (
      INSERT INTO outbox (user_id, channel, kind, body, proactive, inbox_id, meta, message_id)
      SELECT v.user_id, v.channel, v.kind, v.body, v.proactive, v.inbox_id, v.meta, v.message_id
      FROM (VALUES ${outboxRows}) AS v(ord, user_id, channel, kind, body, proactive, inbox_id, meta, message_id) ${where} ORDER BY v.ord
      RETURNING id, seq, user_id),
    outbox_notified AS (
      SELECT id, seq, pg_notify(${OUTBOX_NOTIFY_CHANNEL}, user_id) FROM outbox_rows)`;
}
