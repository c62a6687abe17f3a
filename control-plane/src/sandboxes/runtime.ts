import { AppError } from "../errors";

/**
 * The narrow seam every sandbox backend implements: Docker for real use, child processes for
 * machines without a daemon, Kubernetes for a cluster. Sandboxes are addressed by user: each user has at most one, under a
 * deterministic name, so the backend itself (the daemon's unique container names, the process
 * runtime's per-user directory) is the last line against duplicates.
 */
export type RuntimeKind = "docker" | "process" | "kubernetes";

export interface SandboxLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}

/** Everything a runtime needs to create one user's sandbox. */
export interface SandboxSpec {
  userId: string;
  sandboxId: string;
  image: string;
  /** The agent's environment (protocol/src/agent-env.ts names). Never holds a provider key. */
  env: Record<string, string>;
  limits: SandboxLimits;
  /** Covers image, limits and the env that matters: a stopped sandbox whose hash differs is recreated. */
  configHash: string;
  /**
   * A startup CPU boost: the sandbox is created with this CPU limit instead of limits.cpus, and the
   * service lowers it to limits.cpus once the agent answered (setCpus). Not in the config hash: the
   * steady state is the same with or without it. Ignored by runtimes without setCpus.
   */
  startCpus?: number;
}

export type InstanceStatus = "created" | "running" | "restarting" | "exited" | "dead" | "paused" | "removing";

/** What a runtime knows about one sandbox, read back from the backend (never from the database). */
export interface RuntimeInstance {
  /** The backend's handle: a container id, or the process runtime's name. */
  id: string;
  name: string;
  userId: string;
  sandboxId: string;
  configHash: string;
  image: string;
  status: InstanceStatus;
  /** Running and not frozen: a frozen (status paused) sandbox is not running, but keeps its endpoint. */
  running: boolean;
  exitCode: number | null;
  /** ws://host:port where the agent listens, when running or frozen. */
  endpoint: string | null;
  startedAt: Date | null;
  /** Why it last stopped, when the backend says (OOMKilled, a signal). */
  error?: string;
  /** Its CPU limit now, when the backend reports one (Docker's inspect does; its list does not). */
  cpus?: number;
}

export interface OpOptions {
  userId: string;
  signal?: AbortSignal;
}

export interface SandboxRuntime {
  readonly kind: RuntimeKind;
  /** Creates (not starts) the sandbox; if one with the deterministic name exists it is adopted. */
  create(opts: { spec: SandboxSpec; signal?: AbortSignal }): Promise<RuntimeInstance>;
  /**
   * Starts it (no-op when running) and returns it with its endpoint. With cpus (a startup boost,
   * runtimes with setCpus only), its CPU limit is set to that first.
   */
  start(opts: OpOptions & { cpus?: number }): Promise<RuntimeInstance>;
  /**
   * Changes its CPU limit in place, running or stopped (Docker: `docker update --cpus`): how a
   * startup boost is taken back. false when it is gone. Optional: without it there is no boost.
   */
  setCpus?(opts: OpOptions & { cpus: number }): Promise<boolean>;
  /** Stops it gracefully, killing after timeoutSeconds. Stopping what is gone or stopped is success. */
  stop(opts: OpOptions & { timeoutSeconds?: number }): Promise<void>;
  /**
   * Freezes it: no CPU, its memory and sockets kept (Docker: pause, the cgroup freezer). Optional:
   * a runtime without it (process, Kubernetes) skips the frozen tier and idle sandboxes are stopped.
   */
  pause?(opts: OpOptions): Promise<void>;
  /**
   * Thaws a frozen one, keeping its endpoint: true when it was frozen and runs again, false when it
   * was not frozen (thawed already, stopped, gone: inspect says which).
   */
  unpause?(opts: OpOptions): Promise<boolean>;
  /** Removes it; with removeData also its volume. Removing what is gone is success. */
  remove(opts: OpOptions & { removeData?: boolean }): Promise<void>;
  /** null when there is none. */
  inspect(opts: OpOptions): Promise<RuntimeInstance | null>;
  /** Every sandbox this runtime manages (in tests: only the test run's). */
  list(opts?: { signal?: AbortSignal }): Promise<RuntimeInstance[]>;
  /** The last `tail` lines of its output. */
  logs(opts: OpOptions & { tail?: number }): Promise<string>;
  /** Current memory use in bytes, or null when not running or unknown. */
  memoryUsage(opts: OpOptions): Promise<number | null>;
  /** The image's identity (id or digest) for the config hash: a rebuilt tag changes it. */
  resolveImage(opts: { image: string; signal?: AbortSignal }): Promise<string>;
  /**
   * The address to bind the sandbox listener to: one that sandboxes reach and the LAN does not.
   * A runtime without one (sandboxes reach the control plane through a cluster service, fenced by
   * network policies) leaves it out: the listener then binds every interface.
   */
  listenHost?(opts?: { signal?: AbortSignal }): Promise<string>;
  /** The LLM gateway's base URL as seen from inside a sandbox, given the sandbox listener's port. */
  gatewayUrl(opts: { port: number; signal?: AbortSignal }): Promise<string>;
  /** Releases what the runtime holds (not the sandboxes: they outlive the control plane). */
  close?(): Promise<void>;
}

/** The backend refused or failed an operation; carries the backend's words for the operator. */
export class RuntimeError extends AppError {
  constructor(message: string, public readonly causeError?: unknown) {
    super(message, 502, "runtime_error");
  }
}

/** The sandbox could not be brought to a running, handshake-ready state. */
export class SandboxUnavailableError extends AppError {
  constructor(message: string) {
    super(message, 503, "sandbox_unavailable");
  }
}

/** An AbortSignal that fires after ms, or when the parent does. */
export function timeoutSignal(ms: number, parent?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return parent ? AbortSignal.any([parent, t]) : t;
}

/** For the few dockerode calls that take no AbortSignal: stop waiting when it fires. */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
