import { sql } from "drizzle-orm";
import pino from "pino";
import { Registry } from "prom-client";
import type { MethodName, MethodParams, MethodResult } from "@concierge/protocol";
import { ManualClock } from "../control-plane/src/clock";
import { rows, type Database } from "../control-plane/src/db/database";
import { Inbox } from "../control-plane/src/inbox/inbox";
import { Dispatcher } from "../control-plane/src/inbox/dispatcher";
import { Outbox } from "../control-plane/src/outbox/outbox";
import { createProactive, type Proactive } from "../control-plane/src/scheduler/proactive";
import type { PlaceCall } from "../control-plane/src/scheduler/types";
import { waitFor } from "./wait-for";

/** A proactive message as the user's phone got it, stamped with the test's clock at the send. */
export interface SentRow {
  userId: string;
  body: string;
  proactive: boolean;
  source: string | null;
  sentAt: Date;
}

export interface ProactiveStackOptions {
  start: string;
  intervalMinutes?: number;
  dailyCap?: number;
  pollMs?: number;
  placeCall?: PlaceCall;
}

const logger = pino({ level: "silent" });

/**
 * The proactive path as main.ts wires it: createProactive's scheduler and handlers registered with
 * the real Dispatcher, which drains the real inbox_events table and writes the real outbox, whose
 * sender hands every WhatsApp row to a recording adapter. Only the scheduler's and the handlers'
 * sense of "now" is a ManualClock; the dispatcher and the outbox run in real time (a ManualClock
 * would fire their poll timers once per simulated second of every step). Subclasses say how an
 * agent is reached.
 */
export abstract class ProactiveStack {
  readonly clock: ManualClock;
  readonly registry = new Registry();
  readonly inbox = new Inbox();
  private readonly sends: Outbox;
  readonly dispatcher: Dispatcher;
  readonly proactive: Proactive;
  private readonly delivered: SentRow[] = [];

  constructor(
    readonly database: Database,
    opts: ProactiveStackOptions,
  ) {
    this.clock = new ManualClock(opts.start);
    this.sends = new Outbox({ database, logger, metrics: this.registry, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } });
    this.sends.registerAdapter({
      channel: "whatsapp",
      send: async (row) => {
        this.delivered.push({ userId: row.userId, body: row.body, proactive: Boolean(row.proactive), source: (row.meta?.source as string | undefined) ?? null, sentAt: this.clock.now() });
        return { providerId: `wamid.${row.id}` };
      },
    });
    this.dispatcher = newDispatcher(database, this.sends, this.registry);
    this.proactive = createProactive({
      database,
      inbox: this.inbox,
      logger,
      metrics: this.registry,
      clock: this.clock,
      queryClock: this.clock,
      heartbeat: { intervalMinutes: opts.intervalMinutes ?? 30, dailyCap: opts.dailyCap ?? 8 },
      // Long: the exact timer to the earliest due row is what these tests exercise.
      pollMs: opts.pollMs ?? 3600_000,
      agent: { call: (userId, method, params) => this.callAgent(userId, method, params) },
      placeCall: opts.placeCall,
    });
    this.proactive.register(this.dispatcher);
  }

  /** How the handlers reach a user's agent: SandboxService.ensure, then ConnectionManager.request. */
  protected abstract callAgent<M extends MethodName>(userId: string, method: M, params: MethodParams<M>): Promise<MethodResult<M>>;

  /** Another replica's dispatcher on its own connection, working the same handlers. */
  replicaDispatcher(database: Database): Dispatcher {
    const dispatcher = newDispatcher(database, new Outbox({ database, logger }));
    this.proactive.register(dispatcher);
    return dispatcher;
  }

  get scheduler() {
    return this.proactive.scheduler;
  }

  get store() {
    return this.proactive.store;
  }

  protected async startStack(): Promise<void> {
    await this.sends.start();
    await this.dispatcher.start();
    this.scheduler.start();
    await this.scheduler.idle();
  }

  protected async stopStack(): Promise<void> {
    await this.scheduler.stop();
    await this.dispatcher.stop();
    await this.sends.stop();
  }

  /** What reached the user's phone (all users when none is named), in send order. */
  async sent(userId?: string): Promise<SentRow[]> {
    return this.delivered.filter((s) => !userId || s.userId === userId);
  }

  /** The inbox events, oldest first (of one kind when named). */
  async events(kind?: string): Promise<{ userId: string; kind: string; providerId: string; status: string; attempts: number }[]> {
    const r = await rows<{ user_id: string; kind: string; provider_id: string; status: string; attempts: number }>(
      this.database.db,
      sql`SELECT user_id, kind, provider_id, status, attempts FROM inbox_events ${kind ? sql`WHERE kind = ${kind}` : sql``} ORDER BY created_at, seq`,
    );
    return r.map((x) => ({ userId: x.user_id, kind: x.kind, providerId: x.provider_id, status: x.status, attempts: Number(x.attempts) }));
  }

  /**
   * Moves the clock to `to`, stopping at every time the scheduler armed its timer for, and lets the
   * scheduler, the dispatcher and the outbox finish their work at each stop. Bounded by `maxStops`.
   */
  async runUntil(to: Date | string, maxStops = 2000): Promise<void> {
    const end = new Date(to).getTime();
    for (let i = 0; i < maxStops; i++) {
      await this.settle();
      const wake = this.scheduler.nextWakeAt?.getTime() ?? end;
      const now = this.clock.now().getTime();
      if (now >= end) return;
      this.clock.advance(Math.max(0, Math.min(wake, end) - now));
      await this.settle();
    }
    throw new Error(`runUntil: more than ${maxStops} stops before ${new Date(to).toISOString()}`);
  }

  /** Lets the in-flight scheduler pass finish and every inbox event and outbox row it caused run. */
  async settle(timeoutMs = 10_000): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await this.scheduler.idle();
      await waitFor(async () => (await this.openRows()) === 0, timeoutMs, "the inbox and the outbox to drain", 5);
      // A handler may have nudged the scheduler (alarm.set) just before its event completed.
      await this.scheduler.idle();
      if ((await this.openRows()) === 0) return;
    }
    throw new Error("settle: the scheduler kept enqueuing");
  }

  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const { values } = await m.get();
    return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
  }

  private async openRows(): Promise<number> {
    const [r] = await rows<{ n: number }>(
      this.database.db,
      sql`SELECT (SELECT count(*) FROM inbox_events WHERE status IN ('pending', 'processing'))::int
               + (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending'))::int AS n`,
    );
    return Number(r?.n ?? 0);
  }
}

function newDispatcher(database: Database, outbox: Outbox, metrics?: Registry): Dispatcher {
  return new Dispatcher({ database, outbox, logger, metrics, concurrency: 8, leaseSeconds: 30, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 } });
}
