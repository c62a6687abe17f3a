import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import {
  ChallengeFrame,
  HelloFrame,
  PROTOCOL_VERSION,
  signConnect,
  connectProof,
  type ConnectFrame,
  type EventFrame,
  type MethodName,
  type MethodParams,
  type MethodResult,
  type ResponseFrame,
} from "@concierge/protocol";

/**
 * A small test-side client for the agent's gateway: the control plane's half of the handshake and
 * request/response by id, over the real `ws` client. Every wait is bounded.
 */
export interface AgentCredentials {
  sandboxId: string;
  token: string;
  privateKeyPem: string;
}

export interface Closed {
  code: number;
  reason: string;
}

/** A connected socket before the handshake, with the agent's challenge in hand. */
export class RawAgentSocket {
  readonly frames: unknown[] = [];
  readonly closed: Promise<Closed>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on("error", () => undefined);
  }

  static async open(url: string, timeoutMs = 5_000): Promise<RawAgentSocket> {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    const socket = new RawAgentSocket(ws);
    await withTimeout(new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    }), timeoutMs, `open ${url}`);
    return socket;
  }

  /** Resolves with the first frame (from index `from`) that matches. */
  async next<T>(match: (f: unknown) => f is T, timeoutMs = 5_000, from = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  challenge(timeoutMs = 5_000): Promise<ChallengeFrame> {
    return this.next((f): f is ChallengeFrame => ChallengeFrame.safeParse(f).success, timeoutMs);
  }

  hello(timeoutMs = 5_000): Promise<HelloFrame> {
    return this.next((f): f is HelloFrame => HelloFrame.safeParse(f).success, timeoutMs);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits for the agent to close the socket. */
  async closedWithin(timeoutMs = 5_000): Promise<Closed> {
    return withTimeout(this.closed, timeoutMs, "waiting for the agent to close the socket");
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

/** The connect frame the control plane would send for this challenge. */
export function signedConnect(creds: AgentCredentials, challenge: ChallengeFrame, ts = Date.now()): ConnectFrame {
  return {
    type: "connect",
    protocolVersion: PROTOCOL_VERSION,
    sandboxId: creds.sandboxId,
    proof: connectProof(creds.token, creds.sandboxId, challenge.nonce, ts),
    nonce: challenge.nonce,
    ts,
    signature: signConnect(creds.privateKeyPem, creds.sandboxId, challenge.nonce, ts),
  };
}

/** An authenticated session: request(...) resolves with the response frame of the same id. */
export class AgentClient {
  private constructor(
    readonly socket: RawAgentSocket,
    readonly helloFrame: HelloFrame,
  ) {}

  static async connect(url: string, creds: AgentCredentials, timeoutMs = 5_000): Promise<AgentClient> {
    const socket = await RawAgentSocket.open(url, timeoutMs);
    try {
      const challenge = await socket.challenge(timeoutMs);
      socket.send(signedConnect(creds, challenge));
      const hello = await Promise.race([
        socket.hello(timeoutMs),
        socket.closed.then((c) => Promise.reject(new Error(`agent refused the handshake: ${c.code} ${c.reason}`))),
      ]);
      return new AgentClient(socket, hello);
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  get events(): EventFrame[] {
    return this.socket.frames.filter((f): f is EventFrame => (f as { type?: unknown }).type === "event");
  }

  async request(method: string, params: unknown, opts: { id?: string; timeoutMs?: number } = {}): Promise<ResponseFrame> {
    const id = opts.id ?? randomUUID();
    const from = this.socket.frames.length;
    this.socket.send({ type: "req", id, method, params });
    return this.socket.next((f): f is ResponseFrame => (f as ResponseFrame).type === "res" && (f as ResponseFrame).id === id, opts.timeoutMs ?? 10_000, from);
  }

  /** A successful call's payload; a failed one throws with the agent's error code and message. */
  async call<M extends MethodName>(method: M, params: MethodParams<M>, timeoutMs?: number): Promise<MethodResult<M>> {
    const res = await this.request(method, params, { timeoutMs });
    if (!res.ok) throw new Error(`${method} failed: ${res.error.code}: ${res.error.message}`);
    return res.payload as MethodResult<M>;
  }

  close(): void {
    this.socket.close();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}
