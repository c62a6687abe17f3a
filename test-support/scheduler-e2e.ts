import { createPublicKey, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import pino from "pino";
import { generateSigningKeyPair, type EventName, type EventPayload, type MethodName, type MethodParams, type MethodResult } from "@concierge/protocol";
import { systemClock } from "../control-plane/src/clock";
import { rows, type Database } from "../control-plane/src/db/database";
import { ConnectionManager, type AgentTarget } from "../control-plane/src/connections/connection-manager";
import { createAgent, type Agent } from "../sandbox-image/src/agent";
import { EventStream, GatewayServer } from "../sandbox-image/src/gateway";
import { ProactiveStack } from "./proactive-stack";

const TEMPLATES = path.resolve(__dirname, "../workspace-templates");

/**
 * The proactive path end to end with the real parts: the real agent (offline brain, its own
 * SQLite) behind its real gateway, ConnectionManager, and the ProactiveStack (createProactive,
 * the real Inbox, Dispatcher and Outbox on the test database) exactly as main.ts wires them. Only
 * the agent's and the scheduler's sense of "now" is a ManualClock.
 */
export class ProactiveE2E extends ProactiveStack {
  readonly connections: ConnectionManager;
  agent!: Agent;
  gateway!: GatewayServer;
  userId!: string;
  sandboxId = `sbx-${randomBytes(4).toString("hex")}`;
  private readonly token = `sbx_${randomBytes(18).toString("base64url")}`;
  private readonly keys = generateSigningKeyPair();
  private dataDir = mkdtempSync(path.join(tmpdir(), "proactive-e2e-"));

  constructor(database: Database, start: string) {
    super(database, { start });
    this.connections = new ConnectionManager({ signingPrivateKeyPem: this.keys.privateKeyPem, logger: pino({ level: "silent" }), clock: systemClock, requestTimeoutMs: 10_000 });
    this.connections.onEvent(this.proactive.onAgentEvent);
  }

  private target(): AgentTarget {
    return { sandboxId: this.sandboxId, endpoint: `ws://127.0.0.1:${this.gateway.port}`, token: this.token };
  }

  /** Stands in for SandboxService.ensure: this sandbox is always up. */
  protected callAgent<M extends MethodName>(_userId: string, method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    return this.connections.request(this.target(), method, params);
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
    await this.connections.connect(this.target());
    await this.startStack();
    return this;
  }

  /** What the user says to the agent (a WhatsApp message, minus the inbox). */
  say(text: string): Promise<string> {
    return this.connections
      .request(this.target(), "chat.send", { idempotencyKey: `say-${randomBytes(6).toString("hex")}`, channel: "whatsapp", text, sentAt: this.clock.now().toISOString() })
      .then((r) => r.reply);
  }

  async outbox(): Promise<{ body: string; proactive: boolean; channel: string; source: string; slot: string; status: string }[]> {
    const r = await rows<{ body: string; proactive: boolean; channel: string; meta: any; provider_id: string; status: string }>(
      this.database.db,
      sql`SELECT o.body, o.proactive, o.channel, o.meta, e.provider_id, e.status FROM outbox o JOIN inbox_events e ON e.id = o.inbox_id WHERE o.user_id = ${this.userId} ORDER BY o.seq`,
    );
    return r.map((x) => ({ body: x.body, proactive: x.proactive, channel: x.channel, source: x.meta?.source, slot: x.provider_id.split(":").slice(2).join(":"), status: x.status }));
  }

  async stop(): Promise<void> {
    await this.stopStack();
    await this.connections.closeAll();
    await this.gateway?.close(200);
    this.agent?.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
