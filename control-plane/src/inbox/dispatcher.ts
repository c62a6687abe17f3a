import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { Counter, Histogram, type Registry } from "prom-client";
import type { Channel } from "@concierge/protocol";
import { rows, type Database } from "../db/database";
import type { Logger } from "../logger";
import { systemClock, type Clock } from "../clock";
import { backoffDelay, validateRetryPolicy, type RetryPolicy } from "../retry";
import { outboxInsertCtes, type Outbox } from "../outbox/outbox";
import type { NewOutboundMessage } from "../outbox/types";
import { AgentRequestError } from "../connections/errors";
import { INBOX_NOTIFY_CHANNEL } from "./inbox";
import { WorkLoop } from "./work-loop";
import type { InboundEventRow, InboundKind } from "./types";

export interface HandlerContext {
  /** Aborts when the dispatcher stops; the event is then released for another process. */
  signal: AbortSignal;
  log: Logger;
}
/** Works one event; returns the messages to send, written in the transaction that completes it. */
export type InboxHandler = (event: InboundEventRow, ctx: HandlerContext) => Promise<NewOutboundMessage[] | void>;

/** Thrown by a handler when trying again cannot help (the event is dead-lettered at once). */
export class PermanentEventError extends Error {
  override name = "PermanentEventError";
}

export interface DispatcherOptions {
  database: Database;
  outbox: Outbox;
  logger: Logger;
  clock?: Clock;
  metrics?: Registry;
  /** Users worked in parallel by this process (INBOX_CONCURRENCY). */
  concurrency: number;
  /** Lease on a claimed event (INBOX_LEASE_SECONDS). */
  leaseSeconds: number;
  /** attempts = INBOX_MAX_ATTEMPTS; delays between them. */
  retry: RetryPolicy;
  pollIntervalMs?: number;
  /** The one short message a user gets when their event is dead-lettered; null sends none. */
  apology?: (event: InboundEventRow) => NewOutboundMessage | null;
}

interface Claimed extends InboundEventRow {
  leaseToken: string;
}

const APOLOGY_TEXT = "Sorry, something went wrong on my side and I couldn't handle your last message. Could you send it again in a little while?";

/**
 * Only a message the user wrote earns an apology: for heartbeats the user asked for nothing, a
 * failed alarm or meeting event would make "your last message" a puzzling sentence, and a caller
 * already heard the call's own apology.
 */
function defaultApology(event: InboundEventRow): NewOutboundMessage | null {
  if (event.kind !== "message") return null;
  const channel: Channel = event.channel === "console" || event.channel === "whatsapp" ? event.channel : "whatsapp";
  return { userId: event.userId, channel, kind: "text", body: APOLOGY_TEXT, inboxId: event.id, meta: { apology: true } };
}

/**
 * Drains the inbox. One statement claims the head of some user's queue: the first unfinished event
 * by (priority, created_at, seq), only if that user has nothing in flight under a live lease. So
 * users run in parallel, one user's events strictly one at a time and in order, and a voice turn
 * (lower priority number) goes next but never beside another event of its user.
 */
export class Dispatcher {
  private readonly handlers = new Map<string, InboxHandler>();
  private readonly loop: WorkLoop<Claimed>;
  private readonly log: Logger;
  private readonly retry: RetryPolicy;
  private unlisten?: () => Promise<void>;
  private readonly m?: { outcomes: Counter; duration: Histogram };

  constructor(private readonly opts: DispatcherOptions) {
    this.log = opts.logger.child({ component: "dispatcher" });
    this.retry = validateRetryPolicy(opts.retry);
    if (opts.metrics) {
      this.m = {
        outcomes: new Counter({ name: "concierge_inbox_events_total", help: "Inbox events worked, by kind and outcome", labelNames: ["kind", "outcome"], registers: [opts.metrics] }),
        duration: new Histogram({
          name: "concierge_inbox_event_duration_seconds",
          help: "Time from claim to completion of one inbox event",
          labelNames: ["kind"],
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
          registers: [opts.metrics],
        }),
      };
    }
    this.loop = new WorkLoop<Claimed>({
      concurrency: opts.concurrency,
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      clock: opts.clock ?? systemClock,
      logger: this.log,
      claim: () => this.claim(),
      process: (e, signal) => this.work(e, signal),
    });
  }

  handle(kind: InboundKind | string, handler: InboxHandler): void {
    this.handlers.set(kind, handler);
  }

  async start(): Promise<void> {
    this.unlisten = await this.opts.database.listen(INBOX_NOTIFY_CHANNEL, () => this.loop.wake());
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => undefined);
    await this.loop.stop();
  }

  private async claim(): Promise<Claimed | undefined> {
    const token = randomUUID();
    const [r] = await rows<Record<string, unknown>>(
      this.opts.database.db,
      sql`WITH next AS (
            SELECT e.id FROM inbox_events e
            WHERE (e.status = 'pending' OR (e.status = 'processing' AND e.lease_expires_at <= now()))
              AND e.next_attempt_at <= now()
              AND NOT EXISTS (
                SELECT 1 FROM inbox_events b
                WHERE b.user_id = e.user_id AND b.id <> e.id
                  AND b.status IN ('pending', 'processing') -- lets the planner use the open-rows index
                  AND (
                    (b.status = 'processing' AND b.lease_expires_at > now())
                    OR (b.priority, b.created_at, b.seq) < (e.priority, e.created_at, e.seq)))
            ORDER BY e.priority, e.created_at, e.seq
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
          UPDATE inbox_events SET status = 'processing', attempts = inbox_events.attempts + 1,
                 lease_token = ${token}, lease_expires_at = now() + make_interval(secs => ${this.opts.leaseSeconds}),
                 updated_at = now()
          FROM next WHERE inbox_events.id = next.id
          RETURNING inbox_events.*`,
    );
    if (!r) return undefined;
    return {
      id: String(r.id),
      userId: String(r.user_id),
      channel: r.channel as Channel,
      kind: r.kind as InboundKind,
      providerId: String(r.provider_id),
      payload: (r.payload as Record<string, unknown>) ?? {},
      priority: Number(r.priority),
      attempts: Number(r.attempts),
      createdAt: r.created_at instanceof Date ? r.created_at : new Date(String(r.created_at)),
      leaseToken: token,
    };
  }

  private async work(event: Claimed, signal: AbortSignal): Promise<void> {
    // Child loggers are built only when something is logged: binding them costs real CPU per event.
    let child: Logger | undefined;
    const log = () => (child ??= this.log.child({ eventId: event.id, userId: event.userId, kind: event.kind, attempt: event.attempts }));
    const started = performance.now();
    const handler = this.handlers.get(event.kind);
    let out: NewOutboundMessage[];
    const renewal = this.keepLease(event, log);
    try {
      if (!handler) throw new Error(`no handler registered for kind ${event.kind}`);
      const { leaseToken: _t, ...view } = event;
      out = (await handler(view, { signal, get log() { return log(); } })) ?? [];
    } catch (err) {
      if (signal.aborted) return this.release(event, log);
      return this.fail(event, err, log);
    } finally {
      renewal.cancel();
    }
    // Completing the event and writing its replies is one statement: atomic without a transaction,
    // one round trip, and the replies are written only if our lease token still holds.
    const result = JSON.stringify({ replies: out.map((m) => ({ channel: m.channel, chars: m.body.length })) });
    const [r] = await rows<{ done: number }>(
      this.opts.database.db,
      sql`WITH done AS (
            UPDATE inbox_events SET status = 'done', completed_at = now(), updated_at = now(), last_error = NULL,
                   lease_token = NULL, lease_expires_at = NULL, result = ${result}::jsonb
            WHERE id = ${event.id} AND lease_token = ${event.leaseToken} AND status = 'processing' RETURNING id)
          ${out.length > 0 ? sql`, ${outboxInsertCtes(out, "done")}` : sql``}
          SELECT (SELECT count(*) FROM done)::int AS done
                 ${out.length > 0 ? sql`, (SELECT count(*) FROM outbox_notified)::int AS queued` : sql``}`,
    );
    // Zero rows: someone else holds the event now (our lease expired); they will answer it, not us.
    const ok = (r?.done ?? 0) > 0;
    if (!ok) log().warn("lease lost before completion; dropping this attempt's result");
    this.m?.outcomes.inc({ kind: event.kind, outcome: ok ? "done" : "lease_lost" });
    this.m?.duration.observe({ kind: event.kind }, (performance.now() - started) / 1000);
  }

  /**
   * A turn may outlast its lease (a cold sandbox, a slow model): renew it at a third of its length
   * while the handler runs, so no other process takes the event over from a live worker. A crashed
   * worker stops renewing, and its lease runs out as designed.
   */
  private keepLease(event: Claimed, log: () => Logger): { cancel(): void } {
    const clock = this.opts.clock ?? systemClock;
    const every = Math.max(200, (this.opts.leaseSeconds * 1000) / 3);
    let timer: { cancel(): void } | undefined;
    let stopped = false;
    const renew = () => {
      if (stopped) return;
      this.opts.database.db
        .execute(
          sql`UPDATE inbox_events SET lease_expires_at = now() + make_interval(secs => ${this.opts.leaseSeconds})
              WHERE id = ${event.id} AND lease_token = ${event.leaseToken} AND status = 'processing'`,
        )
        .catch((err) => log().warn({ err }, "could not renew the lease"))
        .finally(() => {
          if (!stopped) timer = clock.setTimeout(renew, every);
        });
    };
    timer = clock.setTimeout(renew, every);
    return {
      cancel() {
        stopped = true;
        timer?.cancel();
      },
    };
  }

  private async fail(event: Claimed, err: unknown, log: () => Logger): Promise<void> {
    const permanent = err instanceof PermanentEventError || (err instanceof AgentRequestError && !err.retryable);
    const dead = permanent || event.attempts >= this.retry.attempts;
    const message = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000);
    const delayMs = dead ? 0 : backoffDelay(this.retry, event.attempts);
    // The stack goes to the log, never to the user.
    if (dead) log().error({ err }, "event dead-lettered");
    else log().warn({ err: message, delayMs }, "event failed; will retry");
    const apology = dead ? (this.opts.apology ?? defaultApology)(event) : null;
    await this.opts.database.db.transaction(async (tx) => {
      const updated = await rows(
        tx,
        sql`UPDATE inbox_events SET status = ${dead ? "dead" : "pending"}, last_error = ${message}, updated_at = now(),
               lease_token = NULL, lease_expires_at = NULL,
               next_attempt_at = now() + make_interval(secs => ${delayMs / 1000}),
               completed_at = ${dead ? sql`now()` : null}
            WHERE id = ${event.id} AND lease_token = ${event.leaseToken} AND status = 'processing' RETURNING id`,
      );
      if (updated.length > 0 && apology) await this.opts.outbox.enqueue(tx, [apology]);
    });
    this.m?.outcomes.inc({ kind: event.kind, outcome: dead ? "dead" : "retry" });
  }

  /** Stopping mid-event is not the event's fault: give it back without counting the attempt. */
  private async release(event: Claimed, log: () => Logger): Promise<void> {
    log().info("released on shutdown");
    await this.opts.database.db
      .execute(
        sql`UPDATE inbox_events SET status = 'pending', attempts = GREATEST(inbox_events.attempts - 1, 0),
               lease_token = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE id = ${event.id} AND lease_token = ${event.leaseToken} AND status = 'processing'`,
      )
      .catch((err) => log().warn({ err }, "could not release the event; its lease will expire"));
  }
}
