import Dockerode from "dockerode";
import { AGENT_PORT } from "@concierge/protocol";
import type { Logger } from "../logger";
import { buildContainerSpec, containerName, LABEL, volumeName } from "./container-spec";
import { prepareSandboxNetwork, type SandboxNetwork } from "./docker-network";
import {
  RuntimeError,
  raceSignal,
  timeoutSignal,
  type InstanceStatus,
  type OpOptions,
  type RuntimeInstance,
  type SandboxRuntime,
  type SandboxSpec,
} from "./runtime";

export { ICC_OPTION } from "./docker-network";

export interface DockerRuntimeOptions {
  docker?: Dockerode;
  network: string;
  logger: Logger;
  /** The deployment's id (ControlPlaneCredentials.instanceId): labels what it creates, lists only those. */
  instanceId?: string;
  /** Set by tests: labels everything concierge.test-run=<id> and lists only those. */
  testRunId?: string;
  /** Per daemon call; long operations (stop) add their own grace period. */
  callTimeoutMs?: number;
  /**
   * This control plane's own container (name or id) when it runs in one. It is then attached to the
   * sandbox network and sandboxes reach it at its address there, not at the bridge's gateway (the host).
   */
  selfContainer?: { name: string; detected: boolean };
}

const statusCode = (err: unknown): number | undefined => (err as { statusCode?: number })?.statusCode;

/** Sandboxes as Docker containers on a private bridge network, one per user under a fixed name. */
export class DockerRuntime implements SandboxRuntime {
  readonly kind = "docker" as const;
  readonly docker: Dockerode;
  private readonly log: Logger;
  private readonly callTimeoutMs: number;
  private networkReady: Promise<SandboxNetwork> | null = null;
  private hostCpus: Promise<number> | null = null;

  constructor(private readonly opts: DockerRuntimeOptions) {
    this.docker = opts.docker ?? new Dockerode();
    this.log = opts.logger.child({ component: "docker-runtime" });
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
  }

  private signal(parent?: AbortSignal, extraMs = 0): AbortSignal {
    return timeoutSignal(this.callTimeoutMs + extraMs, parent);
  }

  private get extraLabels(): Record<string, string> {
    return {
      ...(this.opts.testRunId ? { [LABEL.testRun]: this.opts.testRunId } : {}),
      ...(this.opts.instanceId ? { [LABEL.instance]: this.opts.instanceId } : {}),
    };
  }

  /**
   * The private network, created if missing. "internal": no route out of it; checked on this host
   * that the host still reaches container IPs and containers reach the host on the gateway IP
   * (which is how they reach the LLM gateway). Inter-container traffic is off, so a sandbox cannot
   * reach another; in a container, the control plane joins it and is reached at its own address.
   */
  ensureNetwork(signal?: AbortSignal): Promise<SandboxNetwork> {
    if (!this.networkReady) {
      this.networkReady = this.createNetwork(signal).catch((err) => {
        this.networkReady = null;
        throw err;
      });
    }
    return this.networkReady;
  }

  private createNetwork(signal?: AbortSignal): Promise<SandboxNetwork> {
    return prepareSandboxNetwork({
      docker: this.docker,
      name: this.opts.network,
      labels: { ...this.extraLabels, [LABEL.managed]: "true" },
      selfContainer: this.opts.selfContainer,
      log: this.log,
      signal: () => this.signal(signal),
    });
  }

  /**
   * A boost capped at the daemon's CPU count (it refuses a limit above it) and never below the
   * configured limit; undefined when that leaves nothing to boost.
   */
  private async boostCpus(cpus: number | undefined, limit: number, signal?: AbortSignal): Promise<number | undefined> {
    if (cpus === undefined || cpus <= limit) return undefined;
    if (!this.hostCpus) {
      this.hostCpus = raceSignal(this.docker.info() as Promise<{ NCPU?: number }>, this.signal(signal)).then(
        (info) => info.NCPU ?? 1,
        (err) => {
          this.hostCpus = null;
          throw err;
        },
      );
    }
    const capped = Math.min(cpus, await this.hostCpus);
    return capped > limit ? capped : undefined;
  }

  async create({ spec, signal }: { spec: SandboxSpec; signal?: AbortSignal }): Promise<RuntimeInstance> {
    await this.ensureNetwork(signal);
    const startCpus = await this.boostCpus(spec.startCpus, spec.limits.cpus, signal);
    const built = buildContainerSpec({ spec: { ...spec, startCpus }, network: this.opts.network, extraLabels: this.extraLabels });
    // Creating a volume that exists returns it: a recreated container keeps the user's data.
    await this.docker.createVolume({ ...built.volume, abortSignal: this.signal(signal) } as never);
    try {
      await this.docker.createContainer({ ...built.create, abortSignal: this.signal(signal) } as Dockerode.ContainerCreateOptions);
      this.log.info({ userId: spec.userId, sandboxId: spec.sandboxId, name: built.name }, "created container");
    } catch (err) {
      // Someone else (another replica, a crashed earlier attempt) made it: adopt it.
      if (statusCode(err) !== 409) throw new RuntimeError(`cannot create container ${built.name}: ${(err as Error).message}`, err);
      this.log.info({ userId: spec.userId, name: built.name }, "container exists; adopting it");
    }
    // After a 409 the winner's create may still be in flight: the name is taken before the
    // container can be inspected. Wait for it, briefly and boundedly.
    for (let i = 0; i < 40; i++) {
      const found = await this.inspect({ userId: spec.userId, signal });
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new RuntimeError(`container ${built.name} vanished right after create`);
  }

  async start({ userId, signal, cpus }: OpOptions & { cpus?: number }): Promise<RuntimeInstance> {
    const c = this.docker.getContainer(containerName(userId));
    // A startup boost on wake: the limit is raised before the start (an update of a stopped
    // container only rewrites its config), and setCpus takes it back once the agent answered.
    if (cpus !== undefined && !(await this.setCpus({ userId, signal, cpus }))) throw new RuntimeError(`container ${containerName(userId)} is gone`);
    try {
      await c.start({ abortSignal: this.signal(signal) });
    } catch (err) {
      // 304: already running.
      if (statusCode(err) !== 304) throw new RuntimeError(`cannot start ${containerName(userId)}: ${(err as Error).message}`, err);
    }
    const found = await this.inspect({ userId, signal });
    if (!found) throw new RuntimeError(`container ${containerName(userId)} is gone`);
    return found;
  }

  async stop({ userId, signal, timeoutSeconds = 10 }: OpOptions & { timeoutSeconds?: number }): Promise<void> {
    try {
      await this.docker.getContainer(containerName(userId)).stop({ t: timeoutSeconds, abortSignal: this.signal(signal, timeoutSeconds * 1000) });
    } catch (err) {
      const code = statusCode(err);
      if (code !== 304 && code !== 404) throw new RuntimeError(`cannot stop ${containerName(userId)}: ${(err as Error).message}`, err);
    }
  }

  /** Capped at the daemon's CPU count, which refuses more. */
  async setCpus({ userId, signal, cpus }: OpOptions & { cpus: number }): Promise<boolean> {
    const capped = (await this.boostCpus(cpus, 0, signal)) ?? cpus;
    try {
      await this.docker.getContainer(containerName(userId)).update({ NanoCpus: Math.round(capped * 1e9), abortSignal: this.signal(signal) });
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw new RuntimeError(`cannot set the CPU limit of ${containerName(userId)}: ${(err as Error).message}`, err);
    }
  }

  async pause({ userId, signal }: OpOptions): Promise<void> {
    try {
      await this.docker.getContainer(containerName(userId)).pause({ abortSignal: this.signal(signal) });
    } catch (err) {
      throw new RuntimeError(`cannot freeze ${containerName(userId)}: ${(err as Error).message}`, err);
    }
  }

  async unpause({ userId, signal }: OpOptions): Promise<boolean> {
    try {
      await this.docker.getContainer(containerName(userId)).unpause({ abortSignal: this.signal(signal) });
      return true;
    } catch (err) {
      // Not paused: the daemon says so with a 500 (some versions 409); 404: gone.
      const code = statusCode(err);
      if (code === 404 || code === 409 || /is not paused/i.test((err as Error).message)) return false;
      throw new RuntimeError(`cannot thaw ${containerName(userId)}: ${(err as Error).message}`, err);
    }
  }

  async remove({ userId, signal, removeData = false }: OpOptions & { removeData?: boolean }): Promise<void> {
    try {
      await this.docker.getContainer(containerName(userId)).remove({ force: true, v: false, abortSignal: this.signal(signal) });
    } catch (err) {
      // 404: already gone (success); 409: removal already in progress.
      const code = statusCode(err);
      if (code !== 404 && code !== 409) throw new RuntimeError(`cannot remove ${containerName(userId)}: ${(err as Error).message}`, err);
    }
    if (removeData) {
      try {
        await this.docker.getVolume(volumeName(userId)).remove({ abortSignal: this.signal(signal) });
      } catch (err) {
        if (statusCode(err) !== 404) throw new RuntimeError(`cannot remove volume ${volumeName(userId)}: ${(err as Error).message}`, err);
      }
    }
  }

  async inspect({ userId, signal }: OpOptions): Promise<RuntimeInstance | null> {
    try {
      const info = await this.docker.getContainer(containerName(userId)).inspect({ abortSignal: this.signal(signal) });
      return this.toInstance(info);
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw new RuntimeError(`cannot inspect ${containerName(userId)}: ${(err as Error).message}`, err);
    }
  }

  private toInstance(info: Dockerode.ContainerInspectInfo): RuntimeInstance {
    const labels = info.Config.Labels ?? {};
    const ip = info.NetworkSettings.Networks?.[this.opts.network]?.IPAddress;
    const running = info.State.Running && !info.State.Restarting && !info.State.Paused;
    const frozen = info.State.Paused;
    const error = info.State.OOMKilled ? "out of memory (OOMKilled)" : info.State.Error || undefined;
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ""),
      userId: labels[LABEL.owner] ?? "",
      sandboxId: labels[LABEL.sandbox] ?? "",
      configHash: labels[LABEL.configHash] ?? "",
      image: info.Config.Image,
      status: info.State.Status as InstanceStatus,
      running,
      exitCode: running ? null : info.State.ExitCode,
      endpoint: (running || frozen) && ip ? `ws://${ip}:${AGENT_PORT}` : null,
      startedAt: info.State.StartedAt && !info.State.StartedAt.startsWith("0001") ? new Date(info.State.StartedAt) : null,
      error,
      ...(info.HostConfig?.NanoCpus ? { cpus: info.HostConfig.NanoCpus / 1e9 } : {}),
    };
  }

  async list(opts: { signal?: AbortSignal } = {}): Promise<RuntimeInstance[]> {
    // Only this deployment's sandboxes: the reconciler removes what it lists and no row owns, so
    // listing another control plane's (a test run's on the same daemon) would destroy them.
    const labelFilter = [`${LABEL.managed}=true`, LABEL.owner];
    if (this.opts.instanceId) labelFilter.push(`${LABEL.instance}=${this.opts.instanceId}`);
    if (this.opts.testRunId) labelFilter.push(`${LABEL.testRun}=${this.opts.testRunId}`);
    const summaries = await this.docker.listContainers({ all: true, filters: { label: labelFilter }, abortSignal: this.signal(opts.signal) });
    // A production control plane never touches containers that tests made on the same daemon.
    const mine = summaries.filter((s) => (this.opts.testRunId ? true : !(LABEL.testRun in (s.Labels ?? {}))));
    // From the list's summaries alone: one daemon call per pass however many sandboxes there are.
    // (Why one exited, OOM or not, is read by inspect() when the reconciler handles the crash.)
    return mine.map((s) => this.summaryToInstance(s));
  }

  private summaryToInstance(s: Dockerode.ContainerInfo): RuntimeInstance {
    const labels = s.Labels ?? {};
    const ip = s.NetworkSettings?.Networks?.[this.opts.network]?.IPAddress;
    const status = s.State as InstanceStatus;
    const running = status === "running";
    const exit = /^Exited \((-?\d+)\)/.exec(s.Status ?? "");
    return {
      id: s.Id,
      name: (s.Names?.[0] ?? "").replace(/^\//, ""),
      userId: labels[LABEL.owner] ?? "",
      sandboxId: labels[LABEL.sandbox] ?? "",
      configHash: labels[LABEL.configHash] ?? "",
      image: s.Image,
      status,
      running,
      exitCode: running ? null : exit ? Number(exit[1]) : null,
      endpoint: (running || status === "paused") && ip ? `ws://${ip}:${AGENT_PORT}` : null,
      startedAt: null,
    };
  }

  async logs({ userId, tail = 200, signal }: OpOptions & { tail?: number }): Promise<string> {
    try {
      const buf = (await this.docker
        .getContainer(containerName(userId))
        .logs({ stdout: true, stderr: true, tail, follow: false, abortSignal: this.signal(signal) } as never)) as unknown as Buffer;
      return demuxLogs(buf);
    } catch (err) {
      if (statusCode(err) === 404) return "";
      throw new RuntimeError(`cannot read logs of ${containerName(userId)}: ${(err as Error).message}`, err);
    }
  }

  async memoryUsage({ userId, signal }: OpOptions): Promise<number | null> {
    try {
      const stats = (await this.docker.getContainer(containerName(userId)).stats({ stream: false, "one-shot": true, abortSignal: this.signal(signal) } as never)) as unknown as {
        memory_stats?: { usage?: number; stats?: { inactive_file?: number; total_inactive_file?: number } };
      };
      // one-shot: one sample now, instead of the two a second apart that CPU percentages need.
      const m = stats.memory_stats;
      if (!m?.usage) return null;
      // What `docker stats` shows: usage minus reclaimable page cache.
      return m.usage - (m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? 0);
    } catch {
      return null;
    }
  }

  async resolveImage({ image, signal }: { image: string; signal?: AbortSignal }): Promise<string> {
    try {
      const info = await raceSignal(this.docker.getImage(image).inspect(), this.signal(signal));
      return info.Id;
    } catch (err) {
      if (statusCode(err) === 404) throw new RuntimeError(`image ${image} is not on this Docker host (build it with npm run sandbox:image)`, err);
      throw new RuntimeError(`cannot inspect image ${image}: ${(err as Error).message}`, err);
    }
  }

  /** Sandboxes reach the host on the bridge's gateway, or our container at its own address. */
  async listenHost(opts: { signal?: AbortSignal } = {}): Promise<string> {
    const { gateway, self } = await this.ensureNetwork(opts.signal);
    return self ?? gateway;
  }

  async gatewayUrl({ port, signal }: { port: number; signal?: AbortSignal }): Promise<string> {
    return `http://${await this.listenHost({ signal })}:${port}/llm/v1`;
  }

  /** Removes the network (tests; production keeps it). Fails while containers are attached. */
  async removeNetwork(): Promise<void> {
    try {
      await this.docker.getNetwork(this.opts.network).remove({ abortSignal: this.signal() } as never);
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    this.networkReady = null;
  }
}

/** Docker multiplexes stdout and stderr of a non-TTY container in 8-byte-header frames. */
export function demuxLogs(buf: Buffer | string): string {
  if (typeof buf === "string") return buf;
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i];
    const len = buf.readUInt32BE(i + 4);
    if (type === undefined || type > 2 || i + 8 + len > buf.length) return buf.toString("utf8");
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** True when a Docker daemon answers within timeoutMs. */
export async function dockerAnswers(docker: Dockerode = new Dockerode(), timeoutMs = 1500): Promise<boolean> {
  try {
    await docker.ping({ abortSignal: AbortSignal.timeout(timeoutMs) } as never);
    return true;
  } catch {
    return false;
  }
}
