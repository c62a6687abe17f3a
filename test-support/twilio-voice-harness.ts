import { createServer, type Server } from "node:http";
import twilio from "twilio";
import type { AddressInfo } from "node:net";
import { generateSigningKeyPair } from "@concierge/protocol";
import { sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { systemClock } from "../control-plane/src/clock";
import { ConnectionManager, type AgentTarget } from "../control-plane/src/connections/connection-manager";
import { rows, type DriverName } from "../control-plane/src/db/database";
import { createApp } from "../control-plane/src/http/app";
import { Dispatcher } from "../control-plane/src/inbox/dispatcher";
import { Inbox } from "../control-plane/src/inbox/inbox";
import { Outbox } from "../control-plane/src/outbox/outbox";
import { createLogger } from "../control-plane/src/logger";
import { createVoiceChannel, type VoiceChannel, type VoiceStreamHandle } from "../control-plane/src/channels/voice";
import { registerHandlers } from "../control-plane/src/channels/channel";
import { whatsAppTurn } from "../control-plane/src/channels/whatsapp/turn";
import { createAgentPort, type AgentPort } from "../control-plane/src/agent-port";
import { createTestDatabase, type TestDatabase } from "./db";
import { FakeAgent, type FakeHandler } from "./fake-agent";
import { postTwilio, type TwilioPost } from "./twilio-webhook";

/**
 * The voice channel as main.ts builds it, on a real database, a real HTTP server, the real
 * ConnectionManager, the real inbox, dispatcher and outbox, and a fake agent that speaks the real
 * protocol. The outbox's sender is not started: tests read the rows it would send.
 */
export const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
export const AUTH_TOKEN = "twilio-test-auth-token-0123456789";
export const PUBLIC_BASE = "https://concierge.example.test";

/** The form parameters of Twilio's voice webhooks for one call from `from`, plus `extra`. */
export function twilioCallParams(sid: string, from: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AccountSid: ACCOUNT_SID, CallSid: sid, From: from, To: "+18005550100", CallStatus: "in-progress", Direction: "inbound", ApiVersion: "2010-04-01", ...extra };
}

export interface HarnessOptions {
  driver: DriverName;
  /** A database shared by a whole test file (emptied by the harness); else one of its own. */
  shared?: TestDatabase;
  agentHandlers?: Record<string, FakeHandler>;
  realtime?: { url: string; apiKey: string; model: string };
  answerLimitMs?: number;
  pollIntervalMs?: number;
  maxWaits?: number;
  realtimeSetupTimeoutMs?: number;
  twilioApiBaseUrl?: string;
  phoneNumber?: string;
  urgentCallsPerDay?: number;
  maxStreams?: number;
  streamStartTimeoutMs?: number;
}

export interface QueuedEvent {
  id: string;
  userId: string;
  channel: string;
  kind: string;
  providerId: string;
  payload: Record<string, unknown>;
  priority: number;
  status: string;
}

export interface OutboxRow {
  userId: string;
  channel: string;
  kind: string;
  body: string;
  proactive: boolean;
  inboxId: string | null;
  meta: Record<string, unknown> | null;
}

export class VoiceHarness {
  tdb!: TestDatabase;
  agent!: FakeAgent;
  connections!: ConnectionManager;
  channel!: VoiceChannel;
  server!: Server;
  localBase = "";
  dispatcher!: Dispatcher;
  /** Users whose sandbox was asked to start. */
  readonly ensured: string[] = [];

  constructor(private readonly opts: HarnessOptions) {}

  get twilio(): TwilioPost {
    return { localBase: this.localBase, publicBase: PUBLIC_BASE, authToken: AUTH_TOKEN };
  }

  get stream(): VoiceStreamHandle | undefined {
    return this.channel.stream;
  }

  /** The upgrade headers Twilio sends to /voice/stream: its signature over the public wss URL. */
  streamHeaders(): Record<string, string> {
    return { "x-twilio-signature": twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_BASE.replace(/^https:/, "wss:") + "/voice/stream", {}) };
  }

  post(path: string, params: Record<string, string>, o?: { signature?: string; headers?: Record<string, string> }) {
    return postTwilio(this.twilio, path, params, o);
  }

  async start(): Promise<this> {
    const logger = createLogger({ level: (process.env.HARNESS_LOG as "warn") ?? "silent" });
    if (this.opts.shared) {
      this.tdb = this.opts.shared;
      await this.tdb.database.db.execute(sql`TRUNCATE users CASCADE`);
    } else {
      this.tdb = await createTestDatabase(this.opts.driver);
    }
    const keys = generateSigningKeyPair();
    this.agent = await new FakeAgent({ sandboxId: "sbx-voice", token: "tok-voice", controlPlanePublicKeyPem: keys.publicKeyPem, handlers: this.opts.agentHandlers }).start();
    this.connections = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, requestTimeoutMs: 10_000, connectTimeoutMs: 3000 });
    const target: AgentTarget = { sandboxId: "sbx-voice", endpoint: this.agent.endpoint, token: "tok-voice" };
    const outbox = new Outbox({ database: this.tdb.database, logger });
    this.dispatcher = new Dispatcher({
      database: this.tdb.database,
      outbox,
      logger,
      concurrency: 4,
      leaseSeconds: 30,
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      pollIntervalMs: 25,
    });
    this.channel = createVoiceChannel({
      config: {
        publicBaseUrl: PUBLIC_BASE,
        twilio: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, phoneNumber: this.opts.phoneNumber },
        twilioApiBaseUrl: this.opts.twilioApiBaseUrl ?? "http://127.0.0.1:9",
        realtime: this.opts.realtime,
        heartbeat: { intervalMinutes: 30, defaultTimezone: "Europe/Berlin", defaultActiveHours: { start: "07:00", end: "23:00" }, dailyCap: 8 },
        voice: { confirmMinutes: 5, urgentCallsPerDay: this.opts.urgentCallsPerDay ?? 3 },
      },
      database: this.tdb.database,
      logger,
      clock: systemClock,
      agent: createAgentPort({
        sandboxes: {
          ensure: async (userId) => {
            this.ensured.push(userId);
            return target;
          },
        },
        connections: this.connections,
      }),
      inbox: new Inbox(),
      outbox,
      answerLimitMs: this.opts.answerLimitMs,
      pollIntervalMs: this.opts.pollIntervalMs ?? 25,
      maxWaits: this.opts.maxWaits,
      realtimeSetupTimeoutMs: this.opts.realtimeSetupTimeoutMs,
      maxStreams: this.opts.maxStreams,
      streamStartTimeoutMs: this.opts.streamStartTimeoutMs,
    });
    const app = createApp({ logger, metrics: new Registry(), isReady: async () => true, routers: this.channel.routes ?? [] });
    this.server = createServer(app);
    await this.channel.start?.({ server: this.server });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.localBase = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    registerHandlers(this.dispatcher, this.channel);
    // The WhatsApp turn with the voice channel's commands in it; the chat agent replies "agent: <text>".
    const chat = { call: (async (_userId: string, _method: string, params: { text: string }) => ({ reply: `agent: ${params.text}`, llmCalls: 0 })) as AgentPort["call"] };
    this.dispatcher.handle("message", whatsAppTurn({ agent: chat, commands: this.channel.whatsAppCommands }));
    await this.dispatcher.start();
    return this;
  }

  /** Every inbox event, oldest first. */
  async events(): Promise<QueuedEvent[]> {
    const r = await rows<Record<string, any>>(this.tdb.database.db, sql`SELECT * FROM inbox_events ORDER BY seq`);
    return r.map((x) => ({ id: x.id, userId: x.user_id, channel: x.channel, kind: x.kind, providerId: x.provider_id, payload: x.payload, priority: Number(x.priority), status: x.status }));
  }

  /** Every outbox row, oldest first. */
  async outbox(): Promise<OutboxRow[]> {
    const r = await rows<Record<string, any>>(this.tdb.database.db, sql`SELECT * FROM outbox ORDER BY created_at, id`);
    return r.map((x) => ({ userId: x.user_id, channel: x.channel, kind: x.kind, body: x.body, proactive: x.proactive, inboxId: x.inbox_id, meta: x.meta }));
  }

  async settle(timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((await this.events()).some((e) => e.status === "pending" || e.status === "processing")) {
      if (Date.now() > until) throw new Error("events still pending");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await this.channel.stop?.();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.connections.closeAll();
    await this.agent.stop();
    if (!this.opts.shared) await this.tdb.cleanup();
  }
}
