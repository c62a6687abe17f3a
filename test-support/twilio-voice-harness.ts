import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateSigningKeyPair } from "@concierge/protocol";
import { sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { systemClock } from "../control-plane/src/clock";
import { ConnectionManager, type AgentTarget } from "../control-plane/src/connections/connection-manager";
import type { DriverName, Tx } from "../control-plane/src/db/database";
import { createApp } from "../control-plane/src/http/app";
import type { NewInboundEvent } from "../control-plane/src/inbox/types";
import { createLogger } from "../control-plane/src/logger";
import type { NewOutboundMessage } from "../control-plane/src/outbox/types";
import { agentForVoice, createVoiceChannel, type VoiceChannel, type VoiceStreamHandle } from "../control-plane/src/channels/voice";
import { createTestDatabase, type TestDatabase } from "./db";
import { FakeAgent, type FakeHandler } from "./fake-agent";
import { postTwilio, type TwilioPost } from "./twilio-webhook";

/**
 * The voice channel as main.ts builds it, on a real database, a real HTTP server, the real
 * ConnectionManager and a fake agent that speaks the real protocol. The inbox and dispatcher are
 * stood in by a small queue that runs the channel's own handlers (and retries an event that ran
 * before its transaction committed, as the real dispatcher would).
 */
export const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
export const AUTH_TOKEN = "twilio-test-auth-token-0123456789";
export const PUBLIC_BASE = "https://concierge.example.test";

export interface HarnessOptions {
  driver: DriverName;
  /** A database shared by a whole test file (emptied by the harness); else one of its own. */
  shared?: TestDatabase;
  agentHandlers?: Record<string, FakeHandler>;
  realtime?: { url: string; apiKey: string; model: string };
  answerLimitMs?: number;
  pollIntervalMs?: number;
  maxWaits?: number;
  twilioApiBaseUrl?: string;
  phoneNumber?: string;
}

export interface QueuedEvent extends NewInboundEvent {
  id: string;
  done: boolean;
}

export class VoiceHarness {
  tdb!: TestDatabase;
  agent!: FakeAgent;
  connections!: ConnectionManager;
  channel!: VoiceChannel;
  server!: Server;
  stream!: VoiceStreamHandle | null;
  localBase = "";
  /** Every event the channel enqueued, in order. */
  readonly events: QueuedEvent[] = [];
  /** What the call_ended handler handed to the outbox. */
  readonly outbound: NewOutboundMessage[] = [];
  /** Users whose sandbox was asked to start. */
  readonly ensured: string[] = [];
  private loop?: NodeJS.Timeout;
  private running = false;
  paused = false;

  constructor(private readonly opts: HarnessOptions) {}

  get twilio(): TwilioPost {
    return { localBase: this.localBase, publicBase: PUBLIC_BASE, authToken: AUTH_TOKEN };
  }

  post(path: string, params: Record<string, string>, o?: { signature?: string; headers?: Record<string, string> }) {
    return postTwilio(this.twilio, path, params, o);
  }

  async start(): Promise<this> {
    const logger = createLogger({ level: "silent" });
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
    const events = this.events;
    let n = 0;
    this.channel = createVoiceChannel({
      config: {
        publicBaseUrl: PUBLIC_BASE,
        twilio: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, phoneNumber: this.opts.phoneNumber },
        twilioApiBaseUrl: this.opts.twilioApiBaseUrl ?? "http://127.0.0.1:9",
        realtime: this.opts.realtime,
        heartbeat: { intervalMinutes: 30, defaultTimezone: "Europe/Berlin", defaultActiveHours: { start: "07:00", end: "23:00" }, dailyCap: 8 },
      },
      database: this.tdb.database,
      logger,
      clock: systemClock,
      agent: agentForVoice({
        ensure: async (userId) => {
          this.ensured.push(userId);
          return target;
        },
        request: (t, m, p) => this.connections.request(t, m, p),
      }),
      inbox: {
        async enqueue(_tx: Tx, event: NewInboundEvent) {
          if (events.some((e) => e.channel === event.channel && e.providerId === event.providerId)) return false;
          events.push({ ...event, id: `evt-${++n}`, done: false });
          return true;
        },
      },
      answerLimitMs: this.opts.answerLimitMs,
      pollIntervalMs: this.opts.pollIntervalMs ?? 25,
      maxWaits: this.opts.maxWaits,
    })!;
    const app = createApp({ logger, metrics: new Registry(), isReady: async () => true, routers: [{ path: "/voice", router: this.channel.router }] });
    this.server = createServer(app);
    this.stream = this.channel.attachStream(this.server);
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.localBase = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.loop = setInterval(() => void this.drain(), 20);
    return this;
  }

  /** One pass of the stand-in dispatcher: each user's events in order, voice turns first. */
  private async drain(): Promise<void> {
    if (this.running || this.paused) return;
    this.running = true;
    try {
      const pending = this.events.filter((e) => !e.done).sort((a, b) => (a.priority ?? 100) - (b.priority ?? 100));
      for (const e of pending) {
        const ev = { id: e.id, userId: e.userId, providerId: e.providerId, payload: e.payload };
        try {
          if (e.kind === "voice_turn") await this.channel.handlers.voiceTurn(ev);
          else if (e.kind === "call_ended") this.outbound.push(...(await this.channel.handlers.callEnded(ev)));
          e.done = true;
        } catch {
          break; // retried on the next pass, like a dispatcher's backoff
        }
      }
    } finally {
      this.running = false;
    }
  }

  async settle(timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.events.some((e) => !e.done)) {
      if (Date.now() > until) throw new Error("events still pending");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.loop);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    await this.stream?.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.connections.closeAll();
    await this.agent.stop();
    if (!this.opts.shared) await this.tdb.cleanup();
  }
}
