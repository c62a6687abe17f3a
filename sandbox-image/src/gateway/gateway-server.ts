import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import {
  AGENT_PORT,
  CloseCode,
  MAX_FRAME_BYTES,
  Methods,
  PROTOCOL_VERSION,
  type ChallengeFrame,
  type HelloFrame,
  type ResponseFrame,
} from "@concierge/protocol";
import type { Logger } from "pino";
import { checkConnect, createChallenge, type HandshakeIdentity } from "./handshake";
import { EventStream } from "./event-stream";
import { INTERNAL_ERROR_MESSAGE, RequestHandler, requestIdOf, type GatewayAgent } from "./request-handler";

export interface GatewayOptions {
  identity: HandshakeIdentity;
  agent: GatewayAgent;
  events: EventStream;
  agentVersion: string;
  logger: Logger;
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Method names announced in hello; defaults to every method of the protocol. */
  capabilities?: string[];
  /** The agent's clock for handshake freshness, in ms since the epoch. */
  now?: () => number;
  handshakeTimeoutMs?: number;
  pingIntervalMs?: number;
  /**
   * Called once when the gateway has seen no traffic for `afterMs` (connections, frames, requests;
   * not keepalive pings) and no request is in flight; again only after the next activity. The agent
   * process gives memory back there (main.ts).
   */
  whenIdle?: { afterMs: number; run: () => void };
}

type Phase = "handshake" | "session" | "refused";

interface Connection {
  phase: Phase;
  alive: boolean;
  inflight: number;
}

/**
 * The agent's WebSocket endpoint. The agent speaks first (a challenge); only a connect signed by
 * the control plane's key, carrying this sandbox's token and that challenge's nonce, gets a hello.
 * After that, request frames are handled concurrently and answered by id, and agent events are
 * pushed to every authenticated connection (several may exist briefly while the control plane
 * reconnects).
 */
export class GatewayServer {
  private readonly connections = new Map<WebSocket, Connection>();
  private readonly handler: RequestHandler;
  private readonly logger: Logger;
  private readonly now: () => number;
  private nextConnId = 1;
  private keepalive?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  private closing = false;

  private constructor(
    private readonly opts: GatewayOptions,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
  ) {
    this.logger = opts.logger.child({ component: "gateway" });
    this.handler = new RequestHandler(opts.agent, this.logger);
    this.now = opts.now ?? Date.now;
  }

  static async start(opts: GatewayOptions): Promise<GatewayServer> {
    const http = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "text/plain" }).end("websocket upgrade required\n");
    });
    // maxPayload makes ws close an oversize frame's connection with 1009 before buffering it all.
    const wss = new WebSocketServer({ server: http, maxPayload: MAX_FRAME_BYTES });
    const gateway = new GatewayServer(opts, http, wss);
    wss.on("connection", (ws, req) => gateway.onConnection(ws, req));
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(opts.port ?? AGENT_PORT, opts.host ?? "0.0.0.0", () => {
        http.off("error", reject);
        resolve();
      });
    });
    gateway.startKeepalive(opts.pingIntervalMs ?? 30_000);
    gateway.active();
    const addr = http.address() as AddressInfo;
    gateway.logger.info({ host: addr.address, port: addr.port }, "gateway listening");
    return gateway;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** Connections that completed the handshake. */
  get sessionCount(): number {
    let n = 0;
    for (const c of this.connections.values()) if (c.phase === "session") n++;
    return n;
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (up to drainMs) so their answers
   * are not lost, then closes every socket.
   */
  async close(drainMs = 5_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.keepalive);
    clearTimeout(this.idleTimer);
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline && [...this.connections.values()].some((c) => c.inflight > 0)) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const ws of this.connections.keys()) ws.close(1001, "agent shutting down");
    // Peers get a moment for the close handshake; whoever ignores it is cut off.
    await new Promise((r) => setTimeout(r, 200).unref());
    for (const ws of this.connections.keys()) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await stopped;
    this.logger.info("gateway closed");
  }

  private startKeepalive(intervalMs: number): void {
    // A socket that has not answered the previous ping by the next one is dead: terminate it so the
    // control plane's reconnect is not shadowed by a half-open connection.
    this.keepalive = setInterval(() => {
      for (const [ws, conn] of this.connections) {
        if (!conn.alive) {
          this.logger.warn("terminating a connection that missed a pong");
          ws.terminate();
          continue;
        }
        conn.alive = false;
        ws.ping();
      }
    }, intervalMs);
    this.keepalive.unref();
  }

  /** Traffic: (re)starts the wait before `whenIdle` runs. */
  private active(): void {
    const idle = this.opts.whenIdle;
    if (!idle || this.closing) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closing) return;
      // A request still running (a long turn) is activity: its end starts the wait again.
      if ([...this.connections.values()].some((c) => c.inflight > 0)) return;
      try {
        idle.run();
      } catch (err) {
        this.logger.warn({ err }, "idle task failed");
      }
    }, idle.afterMs);
    this.idleTimer.unref();
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const log = this.logger.child({ conn: this.nextConnId++, remote: req.socket.remoteAddress });
    if (this.closing) {
      ws.close(1001, "agent shutting down");
      return;
    }
    const conn: Connection = { phase: "handshake", alive: true, inflight: 0 };
    this.connections.set(ws, conn);
    this.active();
    const challenge = createChallenge(this.now());
    const timeout = setTimeout(() => {
      if (conn.phase !== "handshake") return;
      log.warn("no connect within the handshake timeout");
      this.refuse(ws, conn, CloseCode.handshakeTimeout, "handshake timeout");
    }, this.opts.handshakeTimeoutMs ?? 10_000);
    let unsubscribe: (() => void) | undefined;

    ws.on("pong", () => (conn.alive = true));
    ws.on("error", (err) => log.debug({ err: err.message }, "socket error"));
    ws.on("close", (code) => {
      this.active();
      clearTimeout(timeout);
      unsubscribe?.();
      this.connections.delete(ws);
      if (conn.phase === "session") log.info({ code }, "control plane disconnected");
    });
    ws.on("message", (data, isBinary) => {
      this.active();
      if (conn.phase === "handshake") {
        clearTimeout(timeout);
        if (this.acceptConnect(ws, conn, data, isBinary, challenge, log)) {
          unsubscribe = this.opts.events.subscribe((frame) => this.send(ws, frame, log));
        }
      } else if (conn.phase === "session") {
        void this.onRequest(ws, conn, data, isBinary, log);
      }
    });
    this.send(ws, challenge, log);
  }

  private acceptConnect(ws: WebSocket, conn: Connection, data: RawData, isBinary: boolean, challenge: ChallengeFrame, log: Logger): boolean {
    let frame: unknown;
    try {
      frame = isBinary ? undefined : JSON.parse(rawText(data));
    } catch {
      frame = undefined;
    }
    const verdict = checkConnect(frame, this.opts.identity, challenge, this.now());
    if (!verdict.ok) {
      log.warn({ closeCode: verdict.code, reason: verdict.reason }, "handshake refused");
      this.refuse(ws, conn, verdict.code, verdict.reason);
      return false;
    }
    conn.phase = "session";
    const hello: HelloFrame = {
      type: "hello",
      protocolVersion: PROTOCOL_VERSION,
      agentVersion: this.opts.agentVersion,
      capabilities: this.opts.capabilities ?? Object.keys(Methods),
    };
    this.send(ws, hello, log);
    log.info({ sessions: this.sessionCount }, "control plane connected");
    return true;
  }

  private async onRequest(ws: WebSocket, conn: Connection, data: RawData, isBinary: boolean, log: Logger): Promise<void> {
    if (isBinary) {
      this.send(ws, { type: "res", id: "unknown", ok: false, error: { code: "bad_request", message: "binary frames are not accepted" } }, log);
      return;
    }
    if (this.closing) {
      // Draining for shutdown: the control plane retries this on the agent's next start.
      const id = requestIdOf(rawText(data));
      this.send(ws, { type: "res", id, ok: false, error: { code: "busy", message: "the agent is shutting down", retryable: true } }, log);
      return;
    }
    conn.inflight++;
    try {
      const response = await this.handler.handleText(rawText(data));
      this.send(ws, response, log);
    } finally {
      conn.inflight--;
      this.active();
    }
  }

  private refuse(ws: WebSocket, conn: Connection, code: number, reason: string): void {
    conn.phase = "refused";
    ws.close(code, reason);
  }

  private send(ws: WebSocket, frame: object, log: Logger): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    let text = JSON.stringify(frame);
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES && (frame as ResponseFrame).type === "res") {
      // The peer would drop the connection on a frame this big; answer the request with an error instead.
      log.error({ id: (frame as ResponseFrame).id, bytes: Buffer.byteLength(text) }, "response exceeds the frame limit");
      const tooBig: ResponseFrame = { type: "res", id: (frame as ResponseFrame).id, ok: false, error: { code: "internal", message: INTERNAL_ERROR_MESSAGE } };
      text = JSON.stringify(tooBig);
    }
    ws.send(text);
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
