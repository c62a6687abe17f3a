import { createPrivateKey, type KeyObject } from "node:crypto";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { Events, Methods, type MethodName, type MethodParams, type MethodResult } from "@concierge/protocol";
import type { Logger } from "../logger";
import { systemClock, type Clock } from "../clock";
import { backoffDelay, type RetryPolicy } from "../retry";
import { AgentConnection, FATAL_CLOSE_CODES, type AgentTarget } from "./agent-connection";
import { AgentRequestError, AgentTimeoutError, AgentUnavailableError } from "./errors";

export type { AgentTarget } from "./agent-connection";
export { AgentRequestError, AgentTimeoutError, AgentUnavailableError } from "./errors";

export interface ConnectionManagerOptions {
  signingPrivateKeyPem: string;
  logger: Logger;
  metrics?: Registry;
  clock?: Clock;
  /** Default wait for one request (AGENT_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  /** Default budget for dialing and handshaking, retries included. */
  connectTimeoutMs?: number;
  /** Backoff between dials of one sandbox; capped, full jitter. */
  reconnect?: RetryPolicy;
}

type EventListener = (sandboxId: string, event: string, payload: unknown) => void;

interface Slot {
  target: AgentTarget;
  conn?: AgentConnection;
  /** One dial in progress, shared by every caller that needs the socket meanwhile. */
  opening?: Promise<AgentConnection>;
  /** Consecutive failed dials: drives the backoff before the next one. */
  failures: number;
  /** Bumped by close(): a dial that started before it must not install its socket afterwards. */
  generation: number;
  /** The sandbox is frozen: its socket stays open and is not pinged (it could not answer). */
  frozen?: boolean;
}

/**
 * At most one authenticated WebSocket per sandbox, opened on demand and shared by every caller.
 * Requests are validated against the protocol's method table on the way out and on the way back.
 */
export class ConnectionManager {
  private readonly slots = new Map<string, Slot>();
  private readonly listeners = new Set<EventListener>();
  private readonly key: KeyObject;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly reconnect: RetryPolicy;
  private readonly m?: { open: Gauge; inFlight: Gauge; latency: Histogram; dials: Counter };

  constructor(opts: ConnectionManagerOptions) {
    this.key = createPrivateKey(opts.signingPrivateKeyPem);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ component: "connections" });
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 120_000;
    this.pingIntervalMs = opts.pingIntervalMs ?? 15_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.reconnect = opts.reconnect ?? { attempts: 1_000, baseDelayMs: 100, maxDelayMs: 5_000 };
    if (opts.metrics) this.m = registerMetrics(opts.metrics, this);
  }

  /** Opens (or reuses) the sandbox's socket; resolves once the agent said hello. A readiness probe. */
  async connect(target: AgentTarget, opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.connection(target, opts.timeoutMs ?? this.connectTimeoutMs);
  }

  async request<M extends MethodName>(
    target: AgentTarget,
    method: M,
    params: MethodParams<M>,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<MethodResult<M>> {
    const spec = Methods[method];
    const checked = spec.params.safeParse(params);
    if (!checked.success) {
      throw new AgentRequestError(`invalid ${method} params: ${checked.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`, "bad_request", false);
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const started = performance.now();
    let outcome = "ok";
    this.m?.inFlight.inc();
    try {
      const conn = await this.connection(target, Math.min(timeoutMs, this.connectTimeoutMs), opts.signal);
      const payload = await conn.request(method, checked.data, timeoutMs, opts.signal);
      const result = spec.result.safeParse(payload);
      if (!result.success) {
        throw new AgentRequestError(`agent returned a malformed ${method} result`, "internal", false);
      }
      return result.data as MethodResult<M>;
    } catch (err) {
      outcome = err instanceof AgentTimeoutError ? "timeout" : err instanceof AgentRequestError ? "agent_error" : err instanceof AgentUnavailableError ? "unavailable" : "aborted";
      throw err;
    } finally {
      this.m?.inFlight.dec();
      this.m?.latency.observe({ method, outcome }, (performance.now() - started) / 1000);
    }
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The sandbox stopped: close its socket; its in-flight requests fail with AgentUnavailableError. */
  async close(sandboxId: string): Promise<void> {
    const slot = this.slots.get(sandboxId);
    if (!slot) return;
    slot.generation++;
    this.slots.delete(sandboxId);
    slot.conn?.close(new AgentUnavailableError(`sandbox ${sandboxId} was stopped`));
  }

  /** The sandbox is being frozen: keep its socket, stop pinging it (a frozen agent cannot pong). */
  freeze(sandboxId: string): void {
    const slot = this.slots.get(sandboxId);
    if (!slot) return;
    slot.frozen = true;
    slot.conn?.pausePings();
  }

  /** The sandbox was thawed: pings resume. */
  thaw(sandboxId: string): void {
    const slot = this.slots.get(sandboxId);
    if (!slot?.frozen) return;
    slot.frozen = false;
    slot.conn?.resumePings();
  }

  /** Whether pings to this sandbox are suspended (for tests and metrics). */
  isFrozen(sandboxId: string): boolean {
    return this.slots.get(sandboxId)?.frozen === true;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((id) => this.close(id)));
  }

  /** Sockets currently open (for metrics and tests). */
  get openCount(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.conn?.isOpen) n++;
    return n;
  }

  private async connection(target: AgentTarget, budgetMs: number, signal?: AbortSignal): Promise<AgentConnection> {
    let slot = this.slots.get(target.sandboxId);
    // A new endpoint or token (the sandbox was recreated) makes the old socket useless.
    if (slot && (slot.target.endpoint !== target.endpoint || slot.target.token !== target.token)) {
      await this.close(target.sandboxId);
      slot = undefined;
    }
    if (!slot) {
      slot = { target, failures: 0, generation: 0 };
      this.slots.set(target.sandboxId, slot);
    }
    if (slot.conn?.isOpen) return slot.conn;
    slot.opening ??= this.dial(slot, budgetMs).finally(() => {
      slot!.opening = undefined;
    });
    // The dial is shared, so one caller's abort stops only its own wait, not the dial.
    return signal ? raceAbort(slot.opening, signal) : slot.opening;
  }

  /** Dials until the handshake succeeds or the budget is spent, backing off between attempts. */
  private async dial(slot: Slot, budgetMs: number): Promise<AgentConnection> {
    const deadline = this.clock.now().getTime() + budgetMs;
    const generation = slot.generation;
    let lastError: AgentUnavailableError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (slot.failures > 0) {
        const wait = Math.min(backoffDelay(this.reconnect, slot.failures), deadline - this.clock.now().getTime());
        if (wait > 0) await sleep(this.clock, wait);
      }
      const remaining = deadline - this.clock.now().getTime();
      if (remaining <= 0 || attempt > this.reconnect.attempts) {
        throw lastError ?? new AgentUnavailableError(`could not connect to agent ${slot.target.sandboxId} within ${budgetMs}ms`);
      }
      const conn = new AgentConnection(slot.target, {
        signingKey: this.key,
        logger: this.log,
        clock: this.clock,
        connectTimeoutMs: remaining,
        pingIntervalMs: this.pingIntervalMs,
        onEvent: (event, payload) => this.emit(slot.target.sandboxId, event, payload),
        onClose: (c) => {
          if (slot.conn === c) slot.conn = undefined;
        },
      });
      this.m?.dials.inc();
      try {
        await conn.open();
      } catch (err) {
        slot.failures++;
        lastError = err instanceof AgentUnavailableError ? err : new AgentUnavailableError(String(err));
        this.log.debug({ sandboxId: slot.target.sandboxId, attempt, err: lastError.message }, "dial failed");
        if (lastError.closeCode !== undefined && FATAL_CLOSE_CODES.has(lastError.closeCode)) throw lastError;
        continue;
      }
      if (slot.generation !== generation || this.slots.get(slot.target.sandboxId) !== slot) {
        conn.close();
        throw new AgentUnavailableError(`sandbox ${slot.target.sandboxId} was stopped while connecting`);
      }
      slot.failures = 0;
      slot.conn = conn;
      if (slot.frozen) conn.pausePings();
      return conn;
    }
  }

  private emit(sandboxId: string, event: string, payload: unknown): void {
    let checked = payload;
    if (Object.prototype.hasOwnProperty.call(Events, event)) {
      const parsed = Events[event as keyof typeof Events].safeParse(payload);
      if (!parsed.success) {
        this.log.warn({ sandboxId, event }, "dropped an agent event whose payload does not match the protocol");
        return;
      }
      checked = parsed.data;
    }
    for (const l of this.listeners) {
      try {
        l(sandboxId, event, checked);
      } catch (err) {
        this.log.error({ err, sandboxId, event }, "event listener threw");
      }
    }
  }

  /** In-flight requests across every socket (for the gauge). */
  get inFlightCount(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.conn?.inFlight ?? 0;
    return n;
  }
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => void clock.setTimeout(resolve, ms));
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function registerMetrics(registry: Registry, mgr: ConnectionManager) {
  const open = new Gauge({
    name: "concierge_agent_sockets_open",
    help: "Authenticated WebSockets open to agents",
    registers: [registry],
    collect() {
      this.set(mgr.openCount);
    },
  });
  const inFlight = new Gauge({ name: "concierge_agent_requests_in_flight", help: "Agent requests waiting for an answer", registers: [registry] });
  const latency = new Histogram({
    name: "concierge_agent_request_duration_seconds",
    help: "Agent request latency, connect included, by method and outcome",
    labelNames: ["method", "outcome"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const dials = new Counter({ name: "concierge_agent_dials_total", help: "WebSocket dials to agents (reconnects included)", registers: [registry] });
  return { open, inFlight, latency, dials };
}
