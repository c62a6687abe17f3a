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
import { ClaimLoop, reserveSlot } from "../queue/claim-loop";
import { LeasedQueue, type QueueTable, type Reservation } from "../queue/leased-queue";
import { newWorkerId } from "../queue/worker-id";
import { isInfrastructureError } from "./infrastructure-error";
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
  /** Turns in flight at once in this process (INBOX_CONCURRENCY): a semaphore, not a worker count. */
  concurrency: number;
  /** Lease on a claimed event, renewed every third of it while the turn runs (INBOX_LEASE_SECONDS). */
  leaseSeconds: number;
  /** attempts = INBOX_MAX_ATTEMPTS; delays between them, for failures of the turn itself. */
  retry: RetryPolicy;
  /**
   * Failures of the infrastructure (Docker restarting, a sandbox that will not start, the database
   * away): a longer schedule, so an outage of minutes does not dead-letter anyone's message.
   * Defaults to four times the attempts of `retry` at four times its maximum delay.
   */
  infraRetry?: RetryPolicy;
  /** Stable per process (DATA_DIR): a restart takes back its previous incarnation's leases at once. */
  workerId?: string;
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
 * The inbox as a leased queue. A user has at most one event processing (a partial unique index,
 * inbox_events_one_running_idx, holds it): a pending event is the head when nothing of its user is
 * processing and nothing open comes before it; a processing event whose lease expired is claimable
 * again as long as it is its user's only one (it is, by the index). An event in flight blocks the
 * user's others even once its lease expired, until it is claimed again and finished: so a claim can
 * never make a second processing row, and a webhook can write its event already processing (the
 * hand-off, Dispatcher.reserveTurn) with the index deciding a race between two of the same user.
 */
export const INBOX_QUEUE: QueueTable = {
  table: "inbox_events",
  running: "processing",
  done: "done",
  dead: "dead",
  head: sql`NOT EXISTS (
      SELECT 1 FROM inbox_events b
      WHERE b.user_id = q.user_id AND b.id <> q.id
        AND b.status IN ('pending', 'processing') -- lets the planner use the open-rows index
        AND (b.status = 'processing'
             OR (q.status = 'pending' AND (b.priority, b.created_at, b.seq) < (q.priority, q.created_at, q.seq)))
      -- OFFSET 0: a lookup of this user's open rows for each candidate. As an anti-join planned on
      -- statistics that say nothing is open, it read every open row for each candidate instead.
      OFFSET 0)`,
  order: sql`q.priority, q.created_at, q.seq`,
};

/** An event as the claim (or a statement that wrote it leased, as JSON) returned it. */
function claimedFromRow(r: Record<string, unknown>): Claimed {
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
    leaseToken: String(r.lease_token),
  };
}

/**
 * Drains the inbox. One statement claims the heads of several users' queues at once (as many as
 * there are free slots): the first unfinished event by (priority, created_at, seq), only if that
 * user has nothing in flight under a live lease. So users run in parallel, one user's events
 * strictly one at a time and in order, and a voice turn (lower priority number) goes next but
 * never beside another event of its user.
 */
export class Dispatcher {
  private readonly handlers = new Map<string, InboxHandler>();
  private readonly loop: ClaimLoop<Claimed>;
  private readonly queue: LeasedQueue;
  private readonly log: Logger;
  private readonly retry: RetryPolicy;
  private readonly infraRetry: RetryPolicy;
  private unlisten?: () => Promise<void>;
  private readonly m?: { outcomes: Counter; duration: Histogram };

  constructor(private readonly opts: DispatcherOptions) {
    this.log = opts.logger.child({ component: "dispatcher" });
    this.retry = validateRetryPolicy(opts.retry);
    this.infraRetry = validateRetryPolicy(
      opts.infraRetry ?? { attempts: this.retry.attempts * 4, baseDelayMs: this.retry.baseDelayMs, maxDelayMs: this.retry.maxDelayMs * 4 },
    );
    this.queue = new LeasedQueue(INBOX_QUEUE, opts.workerId ?? newWorkerId(), opts.leaseSeconds);
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
    this.loop = new ClaimLoop<Claimed>({
      capacity: opts.concurrency,
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      renewEveryMs: Math.max(200, (opts.leaseSeconds * 1000) / 3),
      clock: opts.clock ?? systemClock,
      logger: this.log,
      claim: (n) => this.claim(n),
      renew: (jobs) => this.queue.renew(this.opts.database.db, jobs),
      process: (e, signal) => this.work(e, signal),
      analyze: () => this.queue.analyze(this.opts.database.db),
    });
  }

  handle(kind: InboundKind | string, handler: InboxHandler): void {
    this.handlers.set(kind, handler);
  }

  async start(): Promise<void> {
    const reclaimed = await this.queue.reclaimOwn(this.opts.database.db);
    if (reclaimed > 0) this.log.info({ reclaimed }, "took back the leases of this worker's previous run");
    this.unlisten = await this.opts.database.listen(INBOX_NOTIFY_CHANNEL, () => this.loop.wake());
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.unlisten?.().catch(() => undefined);
    await this.loop.stop();
  }

  private async claim(n: number): Promise<Claimed[]> {
    const claimed = await this.queue.claim(this.opts.database.db, n);
    return claimed.map(claimedFromRow);
  }

  /**
   * A free slot of this dispatcher for an event another statement writes already processing under
   * this queue's lease (a webhook's, enqueueCtes with `lease`): it runs at once, with no NOTIFY and
   * no claim. Undefined when every slot is taken or the dispatcher is stopped; the event is then
   * written pending and claimed as usual. A crash before it runs leaves a lease that expires (or
   * that this worker takes back when it restarts) like any claimed row's.
   */
  reserveTurn(): Reservation | undefined {
    return reserveSlot(this.loop, this.queue, claimedFromRow, (event) => void this.release(event, () => this.log));
  }

  /** Resolves false when the user had nothing next at completion (no claim needed for them). */
  private async work(event: Claimed, signal: AbortSignal): Promise<boolean> {
    // Child loggers are built only when something is logged: binding them costs real CPU per event.
    let child: Logger | undefined;
    const log = () => (child ??= this.log.child({ eventId: event.id, userId: event.userId, kind: event.kind, attempt: event.attempts }));
    const started = performance.now();
    const handler = this.handlers.get(event.kind);
    let out: NewOutboundMessage[];
    try {
      if (!handler) throw new Error(`no handler registered for kind ${event.kind}`);
      const { leaseToken: _t, ...view } = event;
      out = (await handler(view, { signal, get log() { return log(); } })) ?? [];
    } catch (err) {
      await this.giveBack(event, err, signal, log);
      return true;
    }
    // Completing the event and writing its replies is one statement: atomic without a transaction,
    // one round trip, and the replies are written only if our lease token still holds. When this
    // process's sender has a free slot, the first reply is written already leased to it and sent
    // straight from here: no notification, no claim.
    const result = JSON.stringify({ replies: out.map((m) => ({ channel: m.channel, chars: m.body.length })) });
    const send = out.length > 0 ? this.opts.outbox.reserveSend(out[0]!.channel) : undefined;
    let r: { done: number; more: boolean; leased?: Record<string, unknown> | null } | undefined;
    try {
      // It also says whether the user has another event waiting, so the loop claims only then.
      [r] = await rows<{ done: number; more: boolean; leased?: Record<string, unknown> | null }>(
        this.opts.database.db,
        sql`WITH done AS (${this.queue.completeSql(event.id, event.leaseToken, sql`completed_at = now(), result = ${result}::jsonb`)})
            ${out.length > 0 ? sql`, ${outboxInsertCtes(out, "done", send?.lease)}` : sql``}
            SELECT (SELECT count(*) FROM done)::int AS done,
                   EXISTS (SELECT 1 FROM inbox_events n WHERE n.user_id = ${event.userId} AND n.status IN ('pending', 'processing') AND n.id <> ${event.id}) AS more
                   ${out.length > 0 ? sql`, (SELECT count(*) FROM outbox_notified)::int AS queued` : sql``}
                   ${send ? sql`, (SELECT row_to_json(l) FROM outbox_leased l) AS leased` : sql``}`,
        "inbox.complete",
      );
    } catch (err) {
      // The turn ran but could not be recorded (a deadlock victim, the database away): the event
      // goes back with a retry time instead of waiting out its lease. The agent keeps each event's
      // result under its id, so the next attempt returns the same reply without a second turn.
      log().warn({ err }, "could not record the turn's completion; will retry");
      await this.giveBack(event, err, signal, log);
      return true;
    } finally {
      send?.take(r?.leased ?? undefined);
    }
    // Zero rows: someone else holds the event now (our lease expired); they will answer it, not us.
    const ok = (r?.done ?? 0) > 0;
    if (!ok) log().warn("lease lost before completion; dropping this attempt's result");
    this.m?.outcomes.inc({ kind: event.kind, outcome: ok ? "done" : "lease_lost" });
    this.m?.duration.observe({ kind: event.kind }, (performance.now() - started) / 1000);
    return !ok || r?.more !== false;
  }

  /** An attempt that did not complete: released when we are stopping, otherwise failed with a retry time. */
  private async giveBack(event: Claimed, err: unknown, signal: AbortSignal, log: () => Logger): Promise<void> {
    if (signal.aborted) await this.release(event, log);
    else await this.fail(event, err, log).catch((e) => log().warn({ err: e }, "could not record the failure; the lease will expire"));
  }

  private async fail(event: Claimed, err: unknown, log: () => Logger): Promise<void> {
    const permanent = err instanceof PermanentEventError || (err instanceof AgentRequestError && !err.retryable);
    const infra = !permanent && isInfrastructureError(err);
    const policy = infra ? this.infraRetry : this.retry;
    const dead = permanent || event.attempts >= policy.attempts;
    const message = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000);
    const delayMs = dead ? 0 : backoffDelay(policy, event.attempts);
    // The stack goes to the log, never to the user.
    if (dead) log().error({ err, infra }, "event dead-lettered");
    else log().warn({ err: message, delayMs, infra }, infra ? "infrastructure unavailable; will retry" : "event failed; will retry");
    const apology = dead ? (this.opts.apology ?? defaultApology)(event) : null;
    await this.opts.database.db.transaction(async (tx) => {
      const held = await this.queue.fail(tx, event.id, event.leaseToken, { dead, delayMs, error: message, set: dead ? sql`completed_at = now()` : undefined });
      if (held && apology) await this.opts.outbox.enqueue(tx, [apology]);
    });
    this.m?.outcomes.inc({ kind: event.kind, outcome: dead ? "dead" : infra ? "retry_infra" : "retry" });
  }

  /** Stopping mid-event is not the event's fault: give it back without counting the attempt. */
  private async release(event: Claimed, log: () => Logger): Promise<void> {
    log().info("released (stopping, or the lease was lost)");
    await this.queue.release(this.opts.database.db, event.id, event.leaseToken).catch((err) => log().warn({ err }, "could not release the event; its lease will expire"));
  }
}
