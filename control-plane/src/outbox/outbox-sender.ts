import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Counter, Registry } from "prom-client";
import { registryCounter } from "../metrics";
import type { Channel } from "@concierge/protocol";
import { rows, type Database } from "../db/database";
import type { Logger } from "../logger";
import type { Clock } from "../clock";
import { backoffDelay, type RetryPolicy } from "../retry";
import { WorkLoop } from "../inbox/work-loop";
import { SendError, type ChannelAdapter, type OutboundRow } from "./types";

const NOTIFY = "concierge_outbox";

export interface OutboxSenderOptions {
  database: Database;
  logger: Logger;
  clock: Clock;
  metrics?: Registry;
  adapters: ReadonlyMap<Channel, ChannelAdapter>;
  concurrency: number;
  retry: RetryPolicy;
  leaseMs: number;
  pollIntervalMs: number;
}

interface Claimed extends OutboundRow {
  leaseToken: string;
  /** Read in the claim statement itself: one round trip less per send. */
  user: { id: string; waId: string | null; bsuid: string | null; phone: string | null };
}

/**
 * Drains the outbox. A row is claimed in one statement only when it is the first unsent row of its
 * (user, channel), so one user's messages leave in the order they were written; a lease makes a
 * row of a crashed sender claimable again. The one gap no database can close: a provider that
 * accepted a message just before we died gets it again when the lease expires (at-least-once);
 * adapters receive the outbox row id and pass it on where the provider honours an idempotency key.
 */
export class OutboxSender {
  private readonly loop: WorkLoop<Claimed>;
  private readonly log: Logger;
  private unlisten?: () => Promise<void>;
  private readonly sent?: Counter;

  constructor(private readonly opts: OutboxSenderOptions) {
    this.log = opts.logger.child({ component: "outbox" });
    if (opts.metrics) {
      // A sender restarted on the same registry reuses its counter.
      this.sent = registryCounter(opts.metrics, "concierge_outbox_sends_total", "Outbound send attempts by channel and outcome", ["channel", "outcome"]);
    }
    this.loop = new WorkLoop<Claimed>({
      concurrency: opts.concurrency,
      pollIntervalMs: opts.pollIntervalMs,
      clock: opts.clock,
      logger: this.log,
      claim: () => this.claim(),
      process: (row) => this.send(row),
    });
  }

  async start(): Promise<void> {
    this.unlisten = await this.opts.database.listen(NOTIFY, () => this.loop.wake());
    this.loop.start();
  }

  /** Something changed for many rows at once (an adapter was registered): every idle worker looks. */
  wakeAll(): void {
    this.loop.wakeAll();
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => undefined);
    await this.loop.stop();
  }

  private async claim(): Promise<Claimed | undefined> {
    const channels = [...this.opts.adapters.keys()];
    if (channels.length === 0) return undefined;
    const token = randomUUID();
    const leaseSecs = this.opts.leaseMs / 1000;
    const [r] = await rows<Record<string, unknown>>(
      this.opts.database.db,
      sql`WITH next AS (
            SELECT o.id FROM outbox o
            WHERE (o.status = 'pending' OR (o.status = 'sending' AND o.lease_expires_at <= now()))
              AND o.next_attempt_at <= now()
              AND o.channel = ANY(string_to_array(${channels.join(",")}, ','))
              AND NOT EXISTS (
                SELECT 1 FROM outbox b
                WHERE b.user_id = o.user_id AND b.channel = o.channel
                  AND b.status IN ('pending', 'sending') AND b.seq < o.seq)
            ORDER BY o.seq
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
          UPDATE outbox SET status = 'sending', attempts = outbox.attempts + 1, lease_token = ${token},
                 lease_expires_at = now() + make_interval(secs => ${leaseSecs}), updated_at = now()
          FROM next, users u WHERE outbox.id = next.id AND u.id = outbox.user_id
          RETURNING outbox.*, u.wa_id AS user_wa_id, u.bsuid AS user_bsuid, u.phone AS user_phone`,
    );
    if (!r) return undefined;
    return {
      id: String(r.id),
      userId: String(r.user_id),
      channel: r.channel as Channel,
      kind: r.kind as "text" | "template",
      body: String(r.body),
      proactive: Boolean(r.proactive),
      inboxId: (r.inbox_id as string | null) ?? undefined,
      meta: (r.meta as Record<string, unknown> | null) ?? undefined,
      attempts: Number(r.attempts),
      messageId: (r.message_id as string | null) ?? null,
      leaseToken: token,
      user: { id: String(r.user_id), waId: (r.user_wa_id as string | null) ?? null, bsuid: (r.user_bsuid as string | null) ?? null, phone: (r.user_phone as string | null) ?? null },
    };
  }

  private async send(row: Claimed): Promise<void> {
    const { db } = this.opts.database;
    const adapter = this.opts.adapters.get(row.channel);
    // Bound only when something is logged: a child logger per row costs real CPU at volume.
    let child: Logger | undefined;
    const log = () => (child ??= this.log.child({ outboxId: row.id, userId: row.userId, channel: row.channel }));
    try {
      if (!adapter) throw new SendError(`no adapter for channel ${row.channel}`, true, "no_adapter");
      const { leaseToken: _t, user, ...out } = row;
      const { providerId } = await adapter.send(out, user);
      // Recording the send is one statement (one round trip, nothing else in a transaction that
      // could roll it back and turn an accepted message into a resend). The messages row follows
      // in the same statement, guarded so that a provider id it cannot take is skipped, not fatal.
      const [r] = await rows<{ sent: number }>(
        db,
        sql`WITH o AS (
              UPDATE outbox SET status = 'sent', provider_id = ${providerId}, sent_at = now(), updated_at = now(),
                     lease_token = NULL, lease_expires_at = NULL, last_error = NULL
              WHERE id = ${row.id} AND lease_token = ${row.leaseToken} RETURNING id, message_id),
            m AS (
              UPDATE messages SET status = 'sent', provider_id = ${providerId}, updated_at = now()
              FROM o WHERE messages.id = o.message_id AND messages.status = 'queued'
                AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.channel = messages.channel AND x.provider_id = ${providerId} AND x.id <> messages.id)
              RETURNING messages.id)
            SELECT (SELECT count(*) FROM o)::int AS sent, (SELECT count(*) FROM m)::int AS marked`,
      );
      if ((r?.sent ?? 0) === 0) log().warn("lease lost while sending; another sender may have sent this row too");
      this.sent?.inc({ channel: row.channel, outcome: "sent" });
    } catch (err) {
      await this.fail(row, err, log);
    }
  }

  private async fail(row: Claimed, err: unknown, log: () => Logger): Promise<void> {
    const se = err instanceof SendError ? err : undefined;
    const retryable = se ? se.retryable : true;
    const final = !retryable || row.attempts >= this.opts.retry.attempts;
    const delayMs = Math.min(this.opts.retry.maxDelayMs, Math.max(se?.retryAfterMs ?? 0, backoffDelay(this.opts.retry, row.attempts)));
    const message = err instanceof Error ? err.message : String(err);
    const code = se?.code ?? "send_failed";
    if (final) log().warn({ code, attempts: row.attempts, err: message }, "send failed for good");
    else log().info({ code, attempts: row.attempts, delayMs }, "send failed; will retry");
    this.sent?.inc({ channel: row.channel, outcome: final ? "failed" : "retry" });
    await this.opts.database.db.transaction(async (tx) => {
      const updated = await rows(
        tx,
        sql`UPDATE outbox SET status = ${final ? "failed" : "pending"}, last_error = ${`${code}: ${message}`.slice(0, 2000)},
               lease_token = NULL, lease_expires_at = NULL, updated_at = now(),
               next_attempt_at = now() + make_interval(secs => ${delayMs / 1000})
            WHERE id = ${row.id} AND lease_token = ${row.leaseToken} RETURNING id`,
      );
      if (updated.length > 0 && final && row.messageId) {
        await tx.execute(
          sql`UPDATE messages SET status = 'failed', error_code = ${code}, error_message = ${message.slice(0, 500)}, updated_at = now()
              WHERE id = ${row.messageId}`,
        );
      }
    });
  }
}
