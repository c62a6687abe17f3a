import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import {
  CloseCode,
  ConnectFrame,
  HANDSHAKE_MAX_SKEW_MS,
  PROTOCOL_VERSION,
  RequestFrame,
  verifyConnect,
  verifyConnectProof,
  type ErrorShape,
} from "@concierge/protocol";

/**
 * A stand-in for the agent's gateway that speaks the real handshake (challenge, signed connect
 * checked with the protocol's verifyConnect, hello) and answers requests from scripted handlers.
 * Like the real agent it dedupes mutating methods on their idempotency key: a repeat returns the
 * stored result (or joins the run still in progress) instead of running again.
 */
export interface FakeAgentRequest {
  /** The sandbox this socket authenticated as. */
  sandboxId: string;
  id: string;
  method: string;
  params: any;
}
export type FakeHandler = (req: FakeAgentRequest, agent: FakeAgent) => unknown | Promise<unknown>;

export class FakeAgentError extends Error {
  constructor(readonly shape: ErrorShape) {
    super(shape.message);
  }
}

export interface FakeAgentOptions {
  /** One agent per sandbox, like the real one... */
  sandboxId?: string;
  token?: string;
  /** ...or one server standing in for many sandboxes (load tests): the token each sandbox id must present. */
  tokenFor?: (sandboxId: string) => string;
  controlPlanePublicKeyPem: string;
  port?: number;
  handlers?: Record<string, FakeHandler>;
  protocolVersion?: number;
}

export class FakeAgent {
  private wss?: WebSocketServer;
  readonly sockets = new Set<WebSocket>();
  /** Every request frame received, in arrival order. */
  readonly received: FakeAgentRequest[] = [];
  /** How many times each idempotency key actually ran (replays not counted). */
  readonly executions = new Map<string, number>();
  private readonly results = new Map<string, Promise<unknown>>();
  handlers: Record<string, FakeHandler>;
  handshakes = 0;
  refusals = 0;
  port = 0;
  private seq = 0;
  /** When set, the agent stops answering pings (its TCP is alive, its process is not). */
  private frozen = false;

  constructor(readonly opts: FakeAgentOptions) {
    this.handlers = {
      "chat.send": (r) => ({ reply: `echo: ${r.params.text}`, llmCalls: 0 }),
      "heartbeat.run": () => ({ send: false, due: [] }),
      status: () => ({ agentVersion: "fake", protocolVersion: PROTOCOL_VERSION, uptimeSeconds: 1, rssBytes: 1, llmConfigured: false, nextAlarmAt: null, timezone: "UTC" }),
      ...opts.handlers,
    };
  }

  get endpoint(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.frozen = false;
    const wss = new WebSocketServer({ host: "127.0.0.1", port: this.port || this.opts.port || 0, autoPong: true });
    await new Promise<void>((resolve, reject) => {
      wss.once("listening", resolve);
      wss.once("error", reject);
    });
    this.port = (wss.address() as AddressInfo).port;
    wss.on("connection", (ws) => this.onConnection(ws));
    this.wss = wss;
    return this;
  }

  /** Kills every socket abruptly (a crashed container), leaving the server listening. */
  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
  }

  /** Stops answering anything, pings included, without closing sockets. */
  freeze(): void {
    this.frozen = true;
    for (const ws of this.sockets) (ws as any)._socket?.pause();
  }

  /** Answers again, starting with whatever arrived while frozen (as a thawed container does). */
  thaw(): void {
    this.frozen = false;
    for (const ws of this.sockets) (ws as any)._socket?.resume();
  }

  async stop(): Promise<void> {
    this.dropAll();
    const wss = this.wss;
    this.wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  emit(event: string, payload: unknown): void {
    const frame = JSON.stringify({ type: "event", event, payload, seq: this.seq++ });
    for (const ws of this.sockets) ws.send(frame);
  }

  private onConnection(ws: WebSocket): void {
    if (this.frozen) {
      ws.terminate();
      return;
    }
    const nonce = randomBytes(16).toString("hex");
    let authed = false;
    let sandboxId = "";
    ws.send(JSON.stringify({ type: "challenge", nonce, ts: Date.now() }));
    ws.on("message", (data) => {
      if (this.frozen) return;
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        ws.close(CloseCode.protocolError, "not json");
        return;
      }
      if (!authed) {
        const c = ConnectFrame.safeParse(frame);
        const o = this.opts;
        if (!c.success) return void ws.close(CloseCode.protocolError, "expected connect");
        if (c.data.protocolVersion !== (o.protocolVersion ?? PROTOCOL_VERSION)) return void ws.close(CloseCode.versionMismatch, "version");
        if (Math.abs(Date.now() - c.data.ts) > HANDSHAKE_MAX_SKEW_MS) return void ws.close(CloseCode.staleHandshake, "stale");
        const expectedToken = o.tokenFor ? o.tokenFor(c.data.sandboxId) : c.data.sandboxId === o.sandboxId ? o.token : undefined;
        const ok =
          c.data.nonce === nonce &&
          expectedToken !== undefined &&
          verifyConnectProof(expectedToken, c.data.sandboxId, c.data.nonce, c.data.ts, c.data.proof) &&
          verifyConnect(o.controlPlanePublicKeyPem, c.data.sandboxId, c.data.nonce, c.data.ts, c.data.signature);
        if (!ok) {
          this.refusals++;
          return void ws.close(CloseCode.unauthorized, "unauthorized");
        }
        authed = true;
        sandboxId = c.data.sandboxId;
        this.handshakes++;
        this.sockets.add(ws);
        ws.send(JSON.stringify({ type: "hello", protocolVersion: o.protocolVersion ?? PROTOCOL_VERSION, agentVersion: "fake-1", capabilities: ["chat"] }));
        return;
      }
      const r = RequestFrame.safeParse(frame);
      if (!r.success) return;
      void this.answer(ws, { ...(r.data as Omit<FakeAgentRequest, "sandboxId">), sandboxId });
    });
    ws.on("close", () => this.sockets.delete(ws));
    ws.on("error", () => undefined);
  }

  private async answer(ws: WebSocket, req: FakeAgentRequest): Promise<void> {
    this.received.push(req);
    const handler = this.handlers[req.method];
    const reply = (body: object) => {
      if (ws.readyState === ws.OPEN && !this.frozen) ws.send(JSON.stringify({ type: "res", id: req.id, ...body }));
    };
    if (!handler) return reply({ ok: false, error: { code: "method_not_found", message: req.method } });
    const key: string | undefined = req.params?.idempotencyKey;
    let run: Promise<unknown>;
    if (key !== undefined && this.results.has(key)) run = this.results.get(key)!;
    else {
      run = (async () => {
        if (key !== undefined) this.executions.set(key, (this.executions.get(key) ?? 0) + 1);
        return handler(req, this);
      })();
      if (key !== undefined) {
        this.results.set(key, run);
        // A failed run is not stored: the real agent only keeps completed results.
        run.catch(() => this.results.delete(key));
      }
    }
    try {
      reply({ ok: true, payload: await run });
    } catch (err) {
      const shape: ErrorShape = err instanceof FakeAgentError ? err.shape : { code: "internal", message: String(err), retryable: true };
      reply({ ok: false, error: shape });
    }
  }
}

/** A sleep that never keeps the test process alive on its own. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
