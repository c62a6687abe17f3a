import { randomUUID, type KeyObject } from "node:crypto";
import WebSocket from "ws";
import {
  ChallengeFrame,
  CloseCode,
  HelloFrame,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  SessionFrame,
  signConnect,
  connectProof,
  type ErrorShape,
} from "@concierge/protocol";
import type { Logger } from "../logger";
import type { Clock } from "../clock";
import { AgentRequestError, AgentTimeoutError, AgentUnavailableError } from "./errors";

export interface AgentTarget {
  sandboxId: string;
  /** ws://host:port */
  endpoint: string;
  token: string;
}

export interface AgentConnectionOptions {
  signingKey: KeyObject;
  logger: Logger;
  clock: Clock;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  onEvent: (event: string, payload: unknown, seq: number) => void;
  /** Called once, when the socket is gone for whatever reason. */
  onClose: (conn: AgentConnection) => void;
}

interface Pending {
  method: string;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
  cancelTimer: () => void;
}

/** Close codes after which dialing again cannot help until something changes (token, key, image). */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.unauthorized, CloseCode.versionMismatch]);

/**
 * One authenticated socket to one agent. The agent speaks first (challenge); we answer `connect`
 * signed with the control plane's key; it answers `hello`. After that, requests are matched to
 * responses by a fresh random id each, so no answer can ever reach a request it was not for: an id
 * that is no longer pending (timed out, aborted) is dropped on arrival.
 */
export class AgentConnection {
  private ws?: WebSocket;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private alive = true;
  private pingsPaused = false;
  private pingTimer?: { cancel(): void };
  private readonly log: Logger;
  hello?: HelloFrame;

  constructor(
    readonly target: AgentTarget,
    private readonly opts: AgentConnectionOptions,
  ) {
    this.log = opts.logger.child({ component: "agent-connection", sandboxId: target.sandboxId });
  }

  get isOpen(): boolean {
    return !this.closed && this.hello !== undefined && this.ws?.readyState === WebSocket.OPEN;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Dials and completes the handshake, or rejects with AgentUnavailableError. */
  open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: AgentUnavailableError) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.shutdown(err);
        reject(err);
      };
      const timer = this.opts.clock.setTimeout(
        () => fail(new AgentUnavailableError(`handshake with ${this.target.sandboxId} timed out after ${this.opts.connectTimeoutMs}ms`)),
        this.opts.connectTimeoutMs,
      );
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.target.endpoint, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: this.opts.connectTimeoutMs });
      } catch (err) {
        fail(new AgentUnavailableError(`bad agent endpoint: ${(err as Error).message}`));
        return;
      }
      this.ws = ws;
      let stage: "challenge" | "hello" | "session" = "challenge";

      ws.on("message", (data, isBinary) => {
        if (isBinary) return this.protocolError("binary frame");
        let frame: unknown;
        try {
          frame = JSON.parse(data.toString("utf8"));
        } catch {
          return this.protocolError("frame is not JSON");
        }
        if (stage === "session") return this.onSessionFrame(frame);
        if (stage === "challenge") {
          const ch = ChallengeFrame.safeParse(frame);
          if (!ch.success) return fail(new AgentUnavailableError("agent did not open with a challenge"));
          const { sandboxId, token } = this.target;
          const ts = this.opts.clock.now().getTime();
          const signature = signConnect(this.opts.signingKey, sandboxId, ch.data.nonce, ts);
          // Proof of the token, never the token: whoever answers this port may not be our agent.
          const proof = connectProof(token, sandboxId, ch.data.nonce, ts);
          stage = "hello";
          ws.send(JSON.stringify({ type: "connect", protocolVersion: PROTOCOL_VERSION, sandboxId, proof, nonce: ch.data.nonce, ts, signature }));
          return;
        }
        const hello = HelloFrame.safeParse(frame);
        if (!hello.success) return fail(new AgentUnavailableError("agent did not answer connect with hello"));
        if (hello.data.protocolVersion !== PROTOCOL_VERSION) {
          ws.close(CloseCode.versionMismatch, "protocol version mismatch");
          return fail(new AgentUnavailableError(`agent speaks protocol ${hello.data.protocolVersion}, we speak ${PROTOCOL_VERSION}`, CloseCode.versionMismatch));
        }
        this.hello = hello.data;
        stage = "session";
        settled = true;
        timer.cancel();
        this.startPing();
        this.log.debug({ agentVersion: hello.data.agentVersion }, "agent connected");
        resolve();
      });
      ws.on("pong", () => {
        this.alive = true;
      });
      ws.on("error", (err) => {
        // "close" follows; the error only says why.
        this.log.debug({ err: err.message }, "agent socket error");
        if (!settled) fail(new AgentUnavailableError(`cannot reach agent ${this.target.sandboxId}: ${err.message}`));
      });
      ws.on("close", (code, reason) => {
        const why = reason.toString() || "no reason";
        if (!settled) fail(new AgentUnavailableError(`agent ${this.target.sandboxId} closed the handshake (${code}: ${why})`, code));
        else this.shutdown(new AgentUnavailableError(`connection to agent ${this.target.sandboxId} closed (${code}: ${why})`, code));
      });
    });
  }

  /** Sends one request and waits for the response with the same id. `params` are already validated. */
  request(method: string, params: unknown, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (!this.isOpen) return Promise.reject(new AgentUnavailableError(`connection to agent ${this.target.sandboxId} is not open`));
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
    const id = randomUUID();
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => settle(() => reject(signal?.reason ?? new Error("aborted")));
      const timer = this.opts.clock.setTimeout(
        () => settle(() => reject(new AgentTimeoutError(`agent ${this.target.sandboxId} did not answer ${method} within ${timeoutMs}ms`))),
        timeoutMs,
      );
      const settle = (fn: () => void) => {
        // Removing the id first is what makes a late answer unroutable.
        if (!this.pending.delete(id)) return;
        timer.cancel();
        signal?.removeEventListener("abort", onAbort);
        fn();
      };
      this.pending.set(id, {
        method,
        resolve: (p) => settle(() => resolve(p)),
        reject: (e) => settle(() => reject(e)),
        cancelTimer: () => timer.cancel(),
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.ws!.send(JSON.stringify({ type: "req", id, method, params }), (err) => {
        if (err) this.pending.get(id)?.reject(new AgentUnavailableError(`could not send ${method}: ${err.message}`));
      });
    });
  }

  /** Closes the socket and fails everything in flight with `reason`. Idempotent. */
  close(reason = new AgentUnavailableError(`connection to agent ${this.target.sandboxId} was closed`)): void {
    this.shutdown(reason);
  }

  private onSessionFrame(raw: unknown): void {
    const parsed = SessionFrame.safeParse(raw);
    if (!parsed.success) return this.protocolError("malformed frame");
    const frame = parsed.data;
    if (frame.type === "event") {
      try {
        this.opts.onEvent(frame.event, frame.payload, frame.seq);
      } catch (err) {
        this.log.error({ err, event: frame.event }, "event listener threw");
      }
      return;
    }
    if (frame.type === "req") return; // the agent never calls us; ignore rather than guess
    const p = this.pending.get(frame.id);
    if (!p) {
      this.log.debug({ id: frame.id }, "dropped a response for a request no longer waiting (timed out or aborted)");
      return;
    }
    if (frame.ok) p.resolve(frame.payload);
    else {
      const e: ErrorShape = frame.error ?? { code: "internal", message: "agent error without details" };
      p.reject(new AgentRequestError(e.message, e.code, e.retryable ?? false));
    }
  }

  private protocolError(why: string): void {
    this.log.warn({ why }, "agent broke the protocol; closing");
    this.ws?.close(CloseCode.protocolError, why);
    this.shutdown(new AgentUnavailableError(`agent ${this.target.sandboxId} broke the protocol: ${why}`));
  }

  /**
   * The sandbox is frozen (it cannot answer): stop pinging, keep the socket. A request sent
   * meanwhile waits in the socket's buffers until it is thawed.
   */
  pausePings(): void {
    this.pingsPaused = true;
    this.pingTimer?.cancel();
    this.pingTimer = undefined;
  }

  /** Thawed: pinging resumes from now, the silence while frozen counted against nobody. */
  resumePings(): void {
    if (!this.pingsPaused) return;
    this.pingsPaused = false;
    this.alive = true;
    if (!this.closed && this.hello) this.startPing();
  }

  /** Ping every interval; a socket that did not pong since the last ping is dead (half-open TCP). */
  private startPing(): void {
    if (this.pingsPaused) return;
    const tick = () => {
      if (this.closed) return;
      if (!this.alive) {
        this.log.warn("agent stopped answering pings; dropping the socket");
        this.ws?.terminate();
        this.shutdown(new AgentUnavailableError(`agent ${this.target.sandboxId} stopped answering pings`));
        return;
      }
      this.alive = false;
      try {
        this.ws?.ping();
      } catch {
        // close handler follows
      }
      this.pingTimer = this.opts.clock.setTimeout(tick, this.opts.pingIntervalMs);
    };
    this.pingTimer = this.opts.clock.setTimeout(tick, this.opts.pingIntervalMs);
  }

  private shutdown(reason: AgentUnavailableError): void {
    if (this.closed) return;
    this.closed = true;
    this.pingTimer?.cancel();
    const ws = this.ws;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      try {
        if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.normal, "closing");
        else ws.terminate();
      } catch {
        ws.terminate();
      }
      // A peer that never completes the close handshake must not hold the socket open.
      const t = setTimeout(() => ws.terminate(), 2000);
      t.unref();
      ws.once("close", () => clearTimeout(t));
    }
    for (const p of [...this.pending.values()]) p.reject(reason);
    this.pending.clear();
    this.opts.onClose(this);
  }
}
