import { createPublicKey, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { Registry } from "prom-client";
import { generateSigningKeyPair, type EventName, type EventPayload } from "@concierge/protocol";
import { ManualClock, systemClock } from "../control-plane/src/clock";
import { rows, type Database } from "../control-plane/src/db/database";
import { ConnectionManager, type AgentTarget } from "../control-plane/src/connections/connection-manager";
import { Inbox } from "../control-plane/src/inbox/inbox";
import { Dispatcher } from "../control-plane/src/inbox/dispatcher";
import { Outbox } from "../control-plane/src/outbox/outbox";
import { createProactive, type Proactive } from "../control-plane/src/scheduler/proactive";
import { createAgent, type Agent } from "../sandbox-image/src/agent";
import { EventStream, GatewayServer } from "../sandbox-image/src/gateway";

const TEMPLATES = path.resolve(__dirname, "../workspace-templates");

/**
 * The proactive path end to end with the real parts: the real agent (offline brain, its own
 * SQLite) behind its real gateway, ConnectionManager, the real Inbox, Dispatcher and Outbox on the
 * test database, and the scheduler built by createProactive exactly as main.ts builds it. Only the
 * agent's and the scheduler's sense of "now" is a ManualClock; the dispatcher runs in real time.
 * The outbox is not started: its rows are what would go to WhatsApp.
 */
export class ProactiveE2E {
  readonly clock: ManualClock;
  readonly registry = new Registry();
  readonly connections: ConnectionManager;
  readonly dispatcher: Dispatcher;
  readonly proactive: Proactive;
  agent!: Agent;
  gateway!: GatewayServer;
  userId!: string;
  sandboxId = `sbx-${randomBytes(4).toString("hex")}`;
  private readonly token = `sbx_${randomBytes(18).toString("base64url")}`;
  private readonly keys = generateSigningKeyPair();
  private dataDir = mkdtempSync(path.join(tmpdir(), "proactive-e2e-"));

  constructor(
    readonly database: Database,
    start: string,
  ) {
    this.clock = new ManualClock(start);
    const logger = pino({ level: "silent" });
    this.connections = new ConnectionManager({ signingPrivateKeyPem: this.keys.privateKeyPem, logger, clock: systemClock, requestTimeoutMs: 10_000 });
    const outbox = new Outbox({ database, logger });
    this.dispatcher = new Dispatcher({ database, outbox, logger, concurrency: 2, leaseSeconds: 30, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 }, pollIntervalMs: 25 });
    const target = (): AgentTarget => ({ sandboxId: this.sandboxId, endpoint: `ws://127.0.0.1:${this.gateway.port}`, token: this.token });
    this.proactive = createProactive({
      database,
      inbox: new Inbox(),
      logger,
      metrics: this.registry,
      clock: this.clock,
      queryClock: this.clock,
      heartbeat: { intervalMinutes: 30, dailyCap: 8 },
      pollMs: 3600_000,
      // Stands in for SandboxService.ensure: this sandbox is always up.
      agent: { call: (_userId, method, params) => this.connections.request(target(), method, params) },
    });
    this.proactive.register(this.dispatcher);
    this.connections.onEvent(this.proactive.onAgentEvent);
  }

  async start(o: { timezone: string; activeHours: [string, string] }): Promise<this> {
    const [u] = await rows<{ id: string }>(
      this.database.db,
      sql`INSERT INTO users (phone, timezone, active_hours_start, active_hours_end) VALUES (${`49${Date.now() % 1e10}`}, ${o.timezone}, ${o.activeHours[0]}, ${o.activeHours[1]}) RETURNING id`,
    );
    this.userId = u!.id;
    await this.database.db.execute(sql`INSERT INTO sandboxes (id, user_id, state) VALUES (${this.sandboxId}, ${this.userId}, 'running')`);
    const logger = pino({ level: "silent" });
    const events = new EventStream(logger);
    this.agent = await createAgent({
      dataDir: this.dataDir,
      templatesDir: TEMPLATES,
      timezone: o.timezone,
      now: () => this.clock.now(),
      logger,
      emit: <E extends EventName>(event: E, payload: EventPayload<E>) => events.emit(event, payload),
    });
    this.gateway = await GatewayServer.start({
      identity: { sandboxId: this.sandboxId, token: this.token, controlPlanePublicKey: createPublicKey(this.keys.publicKeyPem) },
      agent: this.agent,
      events,
      agentVersion: "e2e",
      logger,
      host: "127.0.0.1",
      port: 0,
    });
    await this.connections.connect({ sandboxId: this.sandboxId, endpoint: `ws://127.0.0.1:${this.gateway.port}`, token: this.token });
    await this.dispatcher.start();
    this.proactive.scheduler.start();
    await this.proactive.scheduler.idle();
    return this;
  }

  /** What the user says to the agent (a WhatsApp message, minus the inbox). */
  say(text: string): Promise<string> {
    const target = { sandboxId: this.sandboxId, endpoint: `ws://127.0.0.1:${this.gateway.port}`, token: this.token };
    return this.connections
      .request(target, "chat.send", { idempotencyKey: `say-${randomBytes(6).toString("hex")}`, channel: "whatsapp", text, sentAt: this.clock.now().toISOString() })
      .then((r) => r.reply);
  }

  /** Steps the clock from one armed scheduler wake-up to the next until `to`, letting the dispatcher finish each time. */
  async runUntil(to: string | Date, maxStops = 500): Promise<void> {
    const end = new Date(to).getTime();
    for (let i = 0; i < maxStops; i++) {
      await this.settle();
      const now = this.clock.now().getTime();
      if (now >= end) return;
      const wake = this.proactive.scheduler.nextWakeAt?.getTime() ?? end;
      this.clock.advance(Math.max(0, Math.min(wake, end) - now));
      await this.settle();
    }
    throw new Error("runUntil: too many stops");
  }

  async settle(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await this.proactive.scheduler.idle();
      const [open] = await rows<{ n: number }>(this.database.db, sql`SELECT count(*)::int AS n FROM inbox_events WHERE status IN ('pending', 'processing')`);
      if ((open?.n ?? 0) === 0) {
        await this.proactive.scheduler.idle();
        return;
      }
      if (Date.now() > until) throw new Error("inbox events still open");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async outbox(): Promise<{ body: string; proactive: boolean; channel: string; source: string; slot: string; status: string }[]> {
    const r = await rows<{ body: string; proactive: boolean; channel: string; meta: any; provider_id: string; status: string }>(
      this.database.db,
      sql`SELECT o.body, o.proactive, o.channel, o.meta, e.provider_id, e.status FROM outbox o JOIN inbox_events e ON e.id = o.inbox_id WHERE o.user_id = ${this.userId} ORDER BY o.seq`,
    );
    return r.map((x) => ({ body: x.body, proactive: x.proactive, channel: x.channel, source: x.meta?.source, slot: x.provider_id.split(":").slice(2).join(":"), status: x.status }));
  }

  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const { values } = await m.get();
    return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
  }

  async stop(): Promise<void> {
    await this.proactive.scheduler.stop();
    await this.dispatcher.stop();
    await this.connections.closeAll();
    await this.gateway?.close(200);
    this.agent?.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
