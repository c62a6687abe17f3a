import { sql } from "drizzle-orm";
import pino from "pino";
import { generateSigningKeyPair, type MethodName, type MethodParams, type MethodResult } from "@concierge/protocol";
import { systemClock } from "../control-plane/src/clock";
import { rows, type Database, type DriverName } from "../control-plane/src/db/database";
import { ConnectionManager } from "../control-plane/src/connections/connection-manager";
import { FakeAgent } from "./fake-agent";
import { ProactiveBrain } from "./scheduler-agent-brain";
import { useTestDatabase } from "./db";
import { ProactiveStack } from "./proactive-stack";
import { waitFor } from "./wait-for";

/**
 * Everything the proactive path needs, assembled the way main.ts does (ProactiveStack), with one
 * agent per user reached over the real WebSocket protocol (ConnectionManager <-> FakeAgent) whose
 * proactive behaviour is a ProactiveBrain.
 */
export interface WorldUser {
  id: string;
  sandboxId: string;
  brain: ProactiveBrain;
  agent: FakeAgent;
}

export interface SchedulerWorldOptions {
  start: string;
  intervalMinutes?: number;
  dailyCap?: number;
  /** false: the voice channel is not configured (urgent reminders ring no phone). */
  placeCall?: boolean;
  pollMs?: number;
}

export class SchedulerWorld extends ProactiveStack {
  readonly connections: ConnectionManager;
  readonly users = new Map<string, WorldUser>();
  readonly calls: { userId: string; text: string }[];
  wakes = 0;
  private readonly keys = generateSigningKeyPair();

  constructor(database: Database, opts: SchedulerWorldOptions) {
    const calls: { userId: string; text: string }[] = [];
    super(database, { ...opts, placeCall: opts.placeCall === false ? undefined : async (userId, text) => void calls.push({ userId, text }) });
    this.calls = calls;
    this.connections = new ConnectionManager({ signingPrivateKeyPem: this.keys.privateKeyPem, logger: pino({ level: "silent" }), clock: systemClock, requestTimeoutMs: 10_000 });
    this.connections.onEvent(this.proactive.onAgentEvent);
  }

  async start(): Promise<this> {
    await this.startStack();
    return this;
  }

  async stop(): Promise<void> {
    await this.stopStack();
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
    // The event crosses a real socket; wait until the schedule row has it.
    const want = at ? new Date(at).toISOString() : undefined;
    await waitFor(async () => (await this.store.get(user.id, "alarm"))?.nextRunAt?.toISOString() === want, 2000, "the alarm row to follow alarm.set");
    await this.scheduler.idle();
  }

  target(user: WorldUser) {
    return { sandboxId: user.sandboxId, endpoint: user.agent.endpoint, token: `tok-${user.sandboxId}` };
  }

  /** Stands in for SandboxService.ensure (wakes a stopped sandbox) followed by ConnectionManager.request. */
  protected async callAgent<M extends MethodName>(userId: string, method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    const user = this.users.get(userId)!;
    const woke = await rows(this.database.db, sql`UPDATE sandboxes SET state = 'running' WHERE user_id = ${userId} AND state <> 'running' RETURNING id`);
    this.wakes += woke.length;
    return this.connections.request(this.target(user), method, params);
  }
}

/**
 * Worlds for a describe block's tests, one at a time on one database: after each test its world
 * stops and what it wrote is emptied (every row hangs off a user).
 */
export function useSchedulerWorlds(driver: DriverName): (opts: SchedulerWorldOptions) => Promise<SchedulerWorld> {
  const t = useTestDatabase(driver);
  let world: SchedulerWorld | undefined;
  afterEach(async () => {
    await world?.stop();
    world = undefined;
    await t.database.db.execute(sql`TRUNCATE users CASCADE`);
  });
  return (opts) => (world = new SchedulerWorld(t.database, opts)).start();
}
