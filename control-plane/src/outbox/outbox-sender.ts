import { sql, type SQL } from "drizzle-orm";
import type { Counter, Registry } from "prom-client";
import { registryCounter } from "../metrics";
import type { Channel } from "@concierge/protocol";
import { rows, type Database } from "../db/database";
import type { Logger } from "../logger";
import type { Clock } from "../clock";
import { backoffDelay, type RetryPolicy } from "../retry";
import { ClaimLoop, reserveSlot } from "../queue/claim-loop";
import { LeasedQueue, type QueueTable, type Reservation } from "../queue/leased-queue";
import { newWorkerId } from "../queue/worker-id";
import { SendError, type ChannelAdapter, type OutboundRow, type OutboundUser } from "./types";

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
  workerId?: string;
}

/** The outbox as a leased queue: the head of a (user, channel) is its first unsent row. */
export const OUTBOX_QUEUE: QueueTable = {
  table: "outbox",
  running: "sending",
  done: "sent",
  dead: "failed",
  head: sql`NOT EXISTS (
      SELECT 1 FROM outbox b
      WHERE b.user_id = q.user_id AND b.channel = q.channel
        AND b.status IN ('pending', 'sending') AND b.seq < q.seq
      OFFSET 0)`, // a per-candidate lookup by (user, channel), as the inbox's head rule (dispatcher.ts)
  order: sql`q.seq`,
};

/** The user's columns a claimed row carries (the adapter addresses the message with them), on `users u`. */
export const CLAIMED_USER_COLUMNS = sql`u.wa_id AS user_wa_id, u.bsuid AS user_bsuid, u.phone AS user_phone,
  u.last_inbound_at AS user_last_inbound_at, u.undeliverable AS user_undeliverable`;

/** A free slot of this process's sender, promised to a row another statement writes already leased (Outbox.reserveSend). */
export type SendReservation = Reservation;

/** One accepted send to record. */
export interface SentRecord {
  id: string;
  token: string;
  providerId: string;
  userId: string;
  channel: Channel;
}

interface Claimed extends OutboundRow {
  leaseToken: string;
  /** Set on a retry whose earlier attempt the provider already accepted: record it, do not resend. */
  acceptedProviderId: string | null;
  /** Read in the claim statement itself: the adapter needs no round trip of its own to address and gate the send. */
  user: OutboundUser;
}

/** A claimed row as the claim (or a statement that wrote it leased) returned it. */
function claimedFromRow(r: Record<string, unknown>): Claimed {
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
    leaseToken: String(r.lease_token),
    acceptedProviderId: Number(r.attempts) > 1 ? ((r.accepted_provider_id as string | null) ?? null) : null,
    user: {
      id: String(r.user_id),
      waId: (r.user_wa_id as string | null) ?? null,
      bsuid: (r.user_bsuid as string | null) ?? null,
      phone: (r.user_phone as string | null) ?? null,
      lastInboundAt: r.user_last_inbound_at ? new Date(r.user_last_inbound_at as string | Date) : null,
      undeliverable: Boolean(r.user_undeliverable),
    },
  };
}

/**
 * Drains the outbox. A row is claimed in one statement only when it is the first unsent row of its
 * (user, channel), so one user's messages leave in the order they were written; a lease makes a
 * row of a crashed sender claimable again. The one gap no database can close: a provider that
 * accepted a message just before we died gets it again when the lease expires (at-least-once);
 * adapters receive the outbox row id and pass it on where the provider honours an idempotency key.
 */
export class OutboxSender {
  private readonly loop: ClaimLoop<Claimed>;
  private readonly queue: LeasedQueue;
  private readonly log: Logger;
  private unlisten?: () => Promise<void>;
  private readonly sent?: Counter;

  constructor(private readonly opts: OutboxSenderOptions) {
    this.log = opts.logger.child({ component: "outbox" });
    if (opts.metrics) {
      // A sender restarted on the same registry reuses its counter.
      this.sent = registryCounter(opts.metrics, "concierge_outbox_sends_total", "Outbound send attempts by channel and outcome", ["channel", "outcome"]);
    }
    this.queue = new LeasedQueue(OUTBOX_QUEUE, opts.workerId ?? newWorkerId(), opts.leaseMs / 1000);
    this.loop = new ClaimLoop<Claimed>({
      capacity: opts.concurrency,
      pollIntervalMs: opts.pollIntervalMs,
      renewEveryMs: Math.max(200, opts.leaseMs / 3),
      clock: opts.clock,
      logger: this.log,
      claim: (n) => this.claim(n),
      renew: (jobs) => this.queue.renew(this.opts.database.db, jobs),
      process: (row) => this.send(row),
      analyze: () => this.queue.analyze(this.opts.database.db),
    });
  }

  async start(): Promise<void> {
    const reclaimed = await this.queue.reclaimOwn(this.opts.database.db);
    if (reclaimed > 0) this.log.info({ reclaimed }, "took back the leases of this worker's previous run");
    this.unlisten = await this.opts.database.listen(NOTIFY, () => this.loop.wake());
    this.loop.start();
  }

  /** Something changed for many rows at once (an adapter was registered): look now. */
  wakeAll(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => undefined);
    await this.loop.stop();
  }

  /** Records a send as sent: recordSentSql, one round trip right after the provider accepted it. */
  private async record(c: SentRecord): Promise<{ sent: boolean; tagged: boolean; more: boolean }> {
    const [r] = await rows<{ sent: boolean; tagged: boolean; more: boolean }>(this.opts.database.db, recordSentSql(this.queue, c), "outbox.sent");
    return { sent: Boolean(r?.sent), tagged: Boolean(r?.tagged), more: r?.more !== false };
  }

  /** See Outbox.reserveSend. */
  reserve(channel: Channel): SendReservation | undefined {
    if (!this.opts.adapters.has(channel)) return undefined;
    return reserveSlot(this.loop, this.queue, claimedFromRow, (job) => {
      void this.queue.release(this.opts.database.db, job.id, job.leaseToken).catch((err) => this.log.warn({ err, outboxId: job.id }, "could not release a handed-over row; its lease will expire"));
    });
  }

  private async claim(n: number): Promise<Claimed[]> {
    const channels = [...this.opts.adapters.keys()];
    if (channels.length === 0) return [];
    const claimed = await this.queue.claim(this.opts.database.db, n, {
      filter: sql`q.channel = ANY(string_to_array(${channels.join(",")}, ','))`,
      from: sql`users u`,
      join: sql`u.id = outbox.user_id`,
      // A provider id on the messages row means an earlier attempt was accepted (the adapter wrote
      // it the moment the provider answered) and only our own bookkeeping was lost with a crash.
      returning: sql`${CLAIMED_USER_COLUMNS},
        (SELECT m.provider_id FROM messages m WHERE m.id = outbox.message_id) AS accepted_provider_id`,
    });
    return claimed.map(claimedFromRow);
  }

  /** Resolves false when the (user, channel) had nothing next (no claim needed for it). */
  private async send(row: Claimed): Promise<boolean> {
    const adapter = this.opts.adapters.get(row.channel);
    // Bound only when something is logged: a child logger per row costs real CPU at volume.
    let child: Logger | undefined;
    const log = () => (child ??= this.log.child({ outboxId: row.id, userId: row.userId, channel: row.channel }));
    // Set once the provider has the message: from then on a failure may cost a retry of our own
    // bookkeeping, never a second send.
    let accepted: string | null = null;
    try {
      if (!adapter) throw new SendError(`no adapter for channel ${row.channel}`, true, "no_adapter");
      const { leaseToken: _t, acceptedProviderId, user, ...out } = row;
      const { providerId } = acceptedProviderId ? { providerId: acceptedProviderId } : await adapter.send(out, user);
      accepted = providerId;
      // Recording the send is one statement (one round trip, nothing else in a transaction that
      // could roll it back and turn an accepted message into a resend).
      const r = await this.record({ id: row.id, token: row.leaseToken, providerId, userId: row.userId, channel: row.channel });
      if (r.tagged) await adapter.recorded?.(providerId).catch((err: unknown) => log().warn({ err: (err as Error).message }, "could not act on the recorded send"));
      if (!r.sent) {
        // Someone took the row over while the provider answered (our lease expired). The id still
        // goes on its messages row: a holder that has not sent it yet records it instead of
        // sending again (the claim's accepted_provider_id).
        log().warn({ providerId }, "lease lost while sending; another sender may have sent this row too");
        if (row.messageId) await this.opts.database.db.execute(keepAcceptedSql(row.messageId, providerId));
      }
      this.sent?.inc({ channel: row.channel, outcome: "sent" });
      return !r.sent || r.more;
    } catch (err) {
      await this.fail(row, err, log, accepted).catch((e) => log().warn({ err: e }, "could not record the failure; the lease will expire"));
      return true;
    }
  }

  /**
   * A send that failed goes back with a retry time, or is failed for good. `accepted`: the
   * provider took the message and only recording it failed (the completion statement was a
   * deadlock victim, the database went away). Its provider id is kept on the messages row, where
   * the next claim reads it (acceptedProviderId), so the retry records the send without sending
   * again, and such a row is never failed for good.
   */
  private async fail(row: Claimed, err: unknown, log: () => Logger, accepted: string | null = null): Promise<void> {
    const se = err instanceof SendError ? err : undefined;
    const retryable = accepted !== null || (se ? se.retryable : true);
    const final = !retryable || (accepted === null && row.attempts >= this.opts.retry.attempts);
    const delayMs = Math.min(this.opts.retry.maxDelayMs, Math.max(se?.retryAfterMs ?? 0, backoffDelay(this.opts.retry, row.attempts)));
    const message = err instanceof Error ? err.message : String(err);
    const code = accepted !== null ? "record_failed" : (se?.code ?? "send_failed");
    if (accepted !== null) log().warn({ err: message, providerId: accepted }, "sent, but recording the send failed; will record it without resending");
    else if (final) log().warn({ code, attempts: row.attempts, err: message }, "send failed for good");
    else log().info({ code, attempts: row.attempts, delayMs }, "send failed; will retry");
    if (accepted === null) this.sent?.inc({ channel: row.channel, outcome: final ? "failed" : "retry" });
    await this.opts.database.db.transaction(async (tx) => {
      const held = await this.queue.fail(tx, row.id, row.leaseToken, { dead: final, delayMs, error: `${code}: ${message}` });
      if (held && accepted !== null && row.messageId) {
        await tx.execute(keepAcceptedSql(row.messageId, accepted));
      }
      if (held && final && row.messageId) {
        await tx.execute(
          sql`UPDATE messages SET status = 'failed', error_code = ${code}, error_message = ${message.slice(0, 500)}, updated_at = now()
              WHERE id = ${row.messageId}`,
        );
      }
    });
  }
}

/**
 * The guard of every write of a provider id onto a messages row: no other row of its channel has
 * it (the unique index would fail the whole statement), so such an id is skipped, not fatal.
 */
function providerIdFree(providerId: string): SQL {
  return sql`NOT EXISTS (SELECT 1 FROM messages x WHERE x.channel = messages.channel AND x.provider_id = ${providerId} AND x.id <> messages.id)`;
}

/**
 * Keeps an accepted send's provider id on its messages row when the send itself could not be
 * recorded, so that the row's next claim records it instead of sending again. Guarded like the
 * record: a row that has an id keeps it, and an id another messages row already has is left alone.
 */
function keepAcceptedSql(messageId: string, providerId: string): SQL {
  return sql`UPDATE messages SET provider_id = ${providerId}, updated_at = now()
             WHERE id = ${messageId} AND provider_id IS NULL
               AND ${providerIdFree(providerId)}`;
}

/**
 * Records an accepted send in one statement: the outbox row (sent, guarded by its token), its
 * messages row (status sent and the provider id, guarded so that an id another row already has
 * is skipped, not fatal), and whether its (user, channel) has another row waiting. Immediate and
 * alone, so the window in which a crash loses an accepted send (and the retry sends it again) is
 * this one round trip. A named statement: every part is a lookup by key, so the generic plan made
 * while the tables were young stays right as they grow (outbox.test.ts, "plan").
 */
export function recordSentSql(queue: LeasedQueue, c: SentRecord): SQL {
  return sql`WITH o AS (${queue.completeSql(c.id, c.token, sql`provider_id = ${c.providerId}, sent_at = now()`, sql`outbox.id, outbox.message_id`)}),
      -- By key, not a join with o: as a join, the generic plan made on young tables scanned every
      -- messages row.
      m AS (
        UPDATE messages SET status = 'sent', provider_id = ${c.providerId}, updated_at = now()
        WHERE messages.id = (SELECT message_id FROM o) AND messages.status = 'queued'
          AND ${providerIdFree(c.providerId)}
        RETURNING messages.id)
      SELECT EXISTS (SELECT 1 FROM o) AS sent, EXISTS (SELECT 1 FROM m) AS tagged,
             EXISTS (SELECT 1 FROM outbox n WHERE n.user_id = ${c.userId} AND n.channel = ${c.channel}
                       AND n.status IN ('pending', 'sending') AND n.id <> ${c.id} OFFSET 0) AS more`;
}
