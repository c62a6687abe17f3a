import { createHash } from "node:crypto";
import type Dockerode from "dockerode";
import { AGENT_PORT } from "@concierge/protocol";
import type { SandboxLimits, SandboxSpec } from "./runtime";

/**
 * Pure functions from a SandboxSpec to what the Docker daemon is asked for. Kept free of I/O so the
 * hardening flags are unit-tested without a daemon; docker-runtime.test.ts reads them back from a
 * real container.
 */

export const LABEL = {
  owner: "concierge.owner",
  sandbox: "concierge.sandbox",
  configHash: "concierge.config-hash",
  testRun: "concierge.test-run",
  managed: "concierge.managed",
  instance: "concierge.instance",
} as const;

/** The agent runs as this numeric user; the image's /data is owned by it, so a fresh volume is too. */
export const SANDBOX_USER = "10001:10001";
export const DATA_MOUNT = "/data";
/** Docker restarts a crashed agent itself this many times before the reconciler takes over. */
export const RESTART_MAX_RETRIES = 3;

/** Docker names allow [a-zA-Z0-9_.-]; user ids are uuids, anything else is folded to be safe. */
function slug(userId: string): string {
  const s = userId.toLowerCase().replace(/[^a-z0-9_.-]/g, "-");
  return s.length > 0 ? s.slice(0, 100) : "x";
}

export function containerName(userId: string): string {
  return `concierge-sbx-${slug(userId)}`;
}

export function volumeName(userId: string): string {
  return `concierge-data-${slug(userId)}`;
}

/**
 * The hash that decides "recreate on next wake": image reference and identity, limits, and the
 * agent's env. Keys are sorted so the same inputs always give the same hash.
 */
export function configHash(input: { image: string; imageId: string; limits: SandboxLimits; env: Record<string, string> }): string {
  const env = Object.fromEntries(Object.entries(input.env).sort(([a], [b]) => a.localeCompare(b)));
  const canonical = JSON.stringify({ v: 1, image: input.image, imageId: input.imageId, limits: input.limits, env });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

export interface ContainerSpecInput {
  spec: SandboxSpec;
  network: string;
  /** Extra labels on everything created (tests add concierge.test-run). */
  extraLabels?: Record<string, string>;
}

export interface ContainerSpec {
  name: string;
  labels: Record<string, string>;
  volume: { Name: string; Labels: Record<string, string> };
  create: Dockerode.ContainerCreateOptions;
}

export function buildContainerSpec({ spec, network, extraLabels = {} }: ContainerSpecInput): ContainerSpec {
  const name = containerName(spec.userId);
  const labels: Record<string, string> = {
    ...extraLabels,
    [LABEL.managed]: "true",
    [LABEL.owner]: spec.userId,
    [LABEL.sandbox]: spec.sandboxId,
    [LABEL.configHash]: spec.configHash,
  };
  const memoryBytes = spec.limits.memoryMb * 1024 * 1024;
  const env = { ...spec.env, AGENT_PORT: String(AGENT_PORT), AGENT_HOST: "0.0.0.0", AGENT_DATA_DIR: DATA_MOUNT };
  const volume = volumeName(spec.userId);
  return {
    name,
    labels,
    volume: { Name: volume, Labels: { ...extraLabels, [LABEL.managed]: "true", [LABEL.owner]: spec.userId } },
    create: {
      name,
      Image: spec.image,
      User: SANDBOX_USER,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: labels,
      // The image's HEALTHCHECK (for running it by hand) spawns a Node process every 15 s: across
      // hundreds of sandboxes that is cores of CPU, and it would wake frozen ones. The control plane
      // already knows each agent's health from its socket (handshake, pings), so it is off here.
      Healthcheck: { Test: ["NONE"] },
      // No ExposedPorts and no PortBindings: the agent is reached on the private network only.
      HostConfig: {
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=64m" },
        Memory: memoryBytes,
        // Equal to Memory: no swap, so the limit is the limit.
        MemorySwap: memoryBytes,
        // A startup boost when asked for (lowered to limits.cpus once the agent answered).
        NanoCpus: Math.round(Math.max(spec.limits.cpus, spec.startCpus ?? 0) * 1e9),
        PidsLimit: spec.limits.pids,
        RestartPolicy: { Name: "on-failure", MaximumRetryCount: RESTART_MAX_RETRIES },
        Mounts: [{ Type: "volume", Source: volume, Target: DATA_MOUNT, ReadOnly: false }],
        NetworkMode: network,
        Init: true,
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
      },
      NetworkingConfig: { EndpointsConfig: { [network]: {} } },
    },
  };
}
