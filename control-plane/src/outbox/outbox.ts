import { sql } from "drizzle-orm";
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
    const ids: string[] = [];
    for (const m of messages) {
      const channel = Channel.parse(m.channel);
      if (m.kind !== "text" && m.kind !== "template") throw new RangeError(`unknown outbound kind ${String(m.kind)}`);
      // One statement for both rows: the messages row users see, and the send that fills it in.
      const [row] = await rows<{ id: string }>(
        tx,
        sql`WITH m AS (
              INSERT INTO messages (user_id, direction, channel, content, status)
              VALUES (${m.userId}, 'out', ${channel}, ${m.body}, 'queued') RETURNING id),
            o AS (
            INSERT INTO outbox (user_id, channel, kind, body, proactive, inbox_id, meta, message_id)
            SELECT ${m.userId}, ${channel}, ${m.kind}, ${m.body}, ${m.proactive ?? false}, ${m.inboxId ?? null},
                   ${m.meta ? JSON.stringify(m.meta) : null}::jsonb, m.id FROM m
            RETURNING id, user_id)
            SELECT id, pg_notify(${OUTBOX_NOTIFY_CHANNEL}, user_id) FROM o`,
      );
      ids.push(row!.id);
    }
    return ids;
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
      concurrency: this.opts.concurrency ?? 8,
      retry: this.opts.retry ?? DEFAULT_RETRY,
      leaseMs: this.opts.leaseMs ?? 60_000,
      pollIntervalMs: this.opts.pollIntervalMs ?? 1000,
    });
    await this.sender.start();
  }

  async stop(): Promise<void> {
    const s = this.sender;
    this.sender = undefined;
    await s?.stop();
  }
}
