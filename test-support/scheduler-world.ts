import { sql } from "drizzle-orm";
import pino from "pino";
import { Registry } from "prom-client";
import { generateSigningKeyPair, type MethodName, type MethodParams, type MethodResult } from "@concierge/protocol";
import { ManualClock, systemClock } from "../control-plane/src/clock";
import { rows, type Database } from "../control-plane/src/db/database";
import { ConnectionManager } from "../control-plane/src/connections/connection-manager";
import { ScheduleStore } from "../control-plane/src/scheduler/schedule-store";
import { Scheduler } from "../control-plane/src/scheduler/scheduler";
import { SchedulerMetrics } from "../control-plane/src/scheduler/scheduler-metrics";
import { ProactiveGuard } from "../control-plane/src/scheduler/proactive-guard";
import { ProfileService } from "../control-plane/src/scheduler/profile-service";
import { createHeartbeatHandler } from "../control-plane/src/scheduler/heartbeat-handler";
import { createAlarmHandler } from "../control-plane/src/scheduler/alarm-handler";
import type { AgentCaller, PlaceCall } from "../control-plane/src/scheduler/types";
import { FakeAgent } from "./fake-agent";
import { ProactiveBrain } from "./scheduler-agent-brain";
import { HarnessInbox } from "./scheduler-harness";

/**
 * Everything the proactive path needs, assembled the way main.ts does, around a ManualClock:
 * the scheduler and its store on a real database, the heartbeat and alarm handlers, and one agent
 * per user reached over the real WebSocket protocol (ConnectionManager <-> FakeAgent) whose
 * proactive behaviour is a ProactiveBrain.
 */
export interface WorldUser {
  id: string;
  sandboxId: string;
  brain: ProactiveBrain;
  agent: FakeAgent;
}

export class SchedulerWorld {
  readonly clock: ManualClock;
  readonly registry = new Registry();
  readonly metrics: SchedulerMetrics;
  readonly store: ScheduleStore;
  readonly scheduler: Scheduler;
  readonly profiles: ProfileService;
  readonly inbox: HarnessInbox;
  readonly connections: ConnectionManager;
  readonly users = new Map<string, WorldUser>();
  readonly calls: { userId: string; text: string }[] = [];
  wakes = 0;
  private readonly keys = generateSigningKeyPair();
  readonly handlers;

  constructor(
    readonly database: Database,
    opts: { start: string; intervalMinutes?: number; dailyCap?: number; placeCall?: boolean; pollMs?: number },
  ) {
    this.clock = new ManualClock(opts.start);
    const logger = pino({ level: "silent" });
    const interval = opts.intervalMinutes ?? 30;
    this.metrics = new SchedulerMetrics(this.registry);
    this.store = new ScheduleStore({ database, queryClock: this.clock });
    this.inbox = new HarnessInbox(database, this.clock);
    this.scheduler = new Scheduler({
      store: this.store,
      enqueue: this.inbox.enqueue,
      clock: this.clock,
      logger,
      metrics: this.metrics,
      heartbeatIntervalMinutes: interval,
      // Long: the exact timer to the earliest due row is what these tests exercise.
      pollMs: opts.pollMs ?? 3600_000,
    });
    this.connections = new ConnectionManager({ signingPrivateKeyPem: this.keys.privateKeyPem, logger, clock: systemClock, requestTimeoutMs: 10_000 });
    this.profiles = new ProfileService({ database, store: this.store, logger, heartbeatIntervalMinutes: interval, onScheduleChanged: () => this.scheduler.nudge() });
    this.connections.onEvent(this.profiles.onAgentEvent);
    const agent: AgentCaller = { call: (userId, method, params) => this.call(userId, method, params) };
    const placeCall: PlaceCall = async (userId, text) => void this.calls.push({ userId, text });
    const deps = {
      database,
      store: this.store,
      guard: new ProactiveGuard(database),
      agent,
      clock: this.clock,
      logger,
      metrics: this.metrics,
      dailyCap: opts.dailyCap ?? 8,
    };
    this.handlers = {
      heartbeat: createHeartbeatHandler(deps),
      alarm: createAlarmHandler({ ...deps, placeCall: opts.placeCall === false ? undefined : placeCall, onAlarmSet: () => this.scheduler.nudge() }),
    };
  }

  async start(): Promise<this> {
    await this.inbox.install();
    this.scheduler.start();
    await this.scheduler.idle();
    return this;
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
    await this.connections.closeAll();
    for (const u of this.users.values()) await u.agent.stop();
  }

  /** A user with a sandbox (state as given) and an agent listening on loopback. */
  async addUser(o: { timezone: string; activeHours?: [string, string]; sandboxState?: string }): Promise<WorldUser> {
    const [u] = await rows<{ id: string }>(
      this.database.db,
      sql`INSERT INTO users (timezone, active_hours_start, active_hours_end) VALUES (${o.timezone}, ${o.activeHours?.[0] ?? "07:00"}, ${o.activeHours?.[1] ?? "23:00"}) RETURNING id`,
    );
    const [s] = await rows<{ id: string }>(
      this.database.db,
      sql`INSERT INTO sandboxes (user_id, state) VALUES (${u!.id}, ${o.sandboxState ?? "running"}) RETURNING id`,
    );
    const brain = new ProactiveBrain(o.timezone);
    const agent = await new FakeAgent({
      sandboxId: s!.id,
      token: `tok-${s!.id}`,
      controlPlanePublicKeyPem: this.keys.publicKeyPem,
      handlers: {
        "heartbeat.run": (r) => brain.heartbeatRun(r.params),
        "alarm.fire": (r) => brain.alarmFire(r.params),
      },
    }).start();
    const user = { id: u!.id, sandboxId: s!.id, brain, agent };
    this.users.set(user.id, user);
    // The next pass creates the user's heartbeat row (in production, within one poll).
    await this.scheduler.tick();
    return user;
  }

  /** What the agent does when the user asks for a reminder: store it, then emit alarm.set. */
  async remind(user: WorldUser, text: string, dueAt: Date, opts: { urgent?: boolean; dailyAt?: string } = {}): Promise<void> {
    const at = user.brain.addReminder(text, dueAt, opts);
    await this.connections.connect(this.target(user));
    user.agent.emit("alarm.set", { at });
    // The event crosses a real socket; wait (bounded) until the schedule row has it.
    for (let i = 0; i < 200; i++) {
      const s = await this.store.get(user.id, "alarm");
      if (s?.nextRunAt?.toISOString() === (at ? new Date(at).toISOString() : undefined)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.scheduler.idle();
  }

  /**
   * Moves the clock to `to`, stopping at every time the scheduler armed its timer for, and lets the
   * scheduler and the inbox finish their work at each stop. Bounded by `maxStops`.
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

  /** Lets the in-flight scheduler pass and every claimable inbox event finish. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await this.scheduler.idle();
      const ran = await this.inbox.drain(this.handlers);
      await this.scheduler.idle();
      if (ran === 0) return;
    }
  }

  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const { values } = await m.get();
    return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
  }

  target(user: WorldUser) {
    return { sandboxId: user.sandboxId, endpoint: user.agent.endpoint, token: `tok-${user.sandboxId}` };
  }

  /** Stands in for SandboxService.ensure (wakes a stopped sandbox) followed by ConnectionManager.request. */
  private async call<M extends MethodName>(userId: string, method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    const user = this.users.get(userId)!;
    const woke = await rows(this.database.db, sql`UPDATE sandboxes SET state = 'running' WHERE user_id = ${userId} AND state <> 'running' RETURNING id`);
    this.wakes += woke.length;
    return this.connections.request(this.target(user), method, params);
  }
}

/** Empties what a SchedulerWorld wrote, so one database serves a whole test file. */
export async function resetSchedulerTables(database: Database): Promise<void> {
  await database.db.execute(sql`TRUNCATE users CASCADE`);
  await database.db.execute(sql`DROP TABLE IF EXISTS test_inbox, test_outbox`);
}
