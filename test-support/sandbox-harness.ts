import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import { Registry } from "prom-client";
import { registerSandboxMetrics } from "../control-plane/src/sandboxes/sandbox-metrics";
import { createLogger, type Logger } from "../control-plane/src/logger";
import type { Clock } from "../control-plane/src/clock";
import { users } from "../control-plane/src/db/schema";
import { ConnectionManager } from "../control-plane/src/connections/connection-manager";
import { loadCredentials, type ControlPlaneCredentials } from "../control-plane/src/sandboxes/credentials";
import { DockerRuntime } from "../control-plane/src/sandboxes/docker-runtime";
import { ProcessRuntime } from "../control-plane/src/sandboxes/process-runtime";
import { SandboxService, type SandboxServiceOptions } from "../control-plane/src/sandboxes/sandbox-service";
import { Reconciler } from "../control-plane/src/sandboxes/reconciler";
import { IdleCuller } from "../control-plane/src/sandboxes/idle-culler";
import { AGENT_ENTRY } from "../control-plane/src/sandboxes/runtime-choice";
import { LABEL, containerName } from "../control-plane/src/sandboxes/container-spec";
import type { SandboxRuntime } from "../control-plane/src/sandboxes/runtime";
import { KubernetesRuntime } from "../control-plane/src/sandboxes/kubernetes-runtime";
import { claimName, podName } from "../control-plane/src/sandboxes/kubernetes-manifests";
import { createTestDatabase, type TestDatabase } from "./db";
import { startFakeCluster, type FakeCluster } from "./fake-cluster";
import { TEST_RUN_ID } from "./docker";

/**
 * A real SandboxService for tests: a real database, a real runtime (Docker with everything
 * labelled concierge.test-run=<run id> on a network of its own, or child processes in a temp
 * DATA_DIR), the real agent and the real ConnectionManager as the readiness probe.
 */
export const TEST_AGENT_IMAGE = process.env.SANDBOX_IMAGE ?? "concierge-agent:latest";

export type RuntimeName = "docker" | "process" | "kubernetes";

export interface SandboxHarness {
  kind: RuntimeName;
  testDb: TestDatabase;
  runtime: SandboxRuntime;
  service: SandboxService;
  connections: ConnectionManager;
  reconciler: Reconciler;
  culler: IdleCuller;
  credentials: ControlPlaneCredentials;
  dataDir: string;
  network: string;
  logger: Logger;
  metrics: Registry;
  /** The fake cluster a kubernetes harness runs on. */
  cluster?: FakeCluster;
  createUser(values?: Partial<typeof users.$inferInsert>): Promise<string>;
  /** A second service on the same database and runtime: another control-plane replica. */
  replica(overrides?: Partial<SandboxServiceOptions>): SandboxService;
  cleanup(): Promise<void>;
}

export interface HarnessOptions {
  kind: RuntimeName;
  image?: string;
  clock?: Clock;
  idleMinutes?: number;
  /** The culler's frozen tier (SANDBOX_FREEZE_MINUTES); off when absent. */
  freezeMinutes?: number;
  testDb?: TestDatabase;
  dataDir?: string;
  /** Share one Docker network between harnesses of one test file. */
  network?: string;
  service?: Partial<SandboxServiceOptions>;
  /** Share one fake cluster between harnesses of one test file (kubernetes). */
  cluster?: FakeCluster;
}

/** The runtime a kubernetes harness (and the contract suite) uses: the control plane's settings, a test run's labels. */
export function testKubernetesRuntime(cluster: { kubeConfig: FakeCluster["kubeConfig"]; namespace: string }, logger: Logger, instanceId: string): KubernetesRuntime {
  return new KubernetesRuntime({
    kubeConfig: cluster.kubeConfig,
    cluster: {
      namespace: cluster.namespace,
      controlPlane: { namespace: "concierge", podLabels: { "app.kubernetes.io/name": "concierge-control-plane" }, gatewayPort: 3001 },
      storage: { size: "1Gi" },
    },
    gatewayUrl: "http://127.0.0.1:3001/llm/v1",
    logger,
    instanceId,
    testRunId: TEST_RUN_ID,
    pollMs: 50,
  });
}

export function testNetworkName(): string {
  return `concierge-test-${TEST_RUN_ID}`;
}

/** Builds the agent image when it is missing (CI builds it before the tests; this is for a bare `jest`). */
export function ensureAgentImage(image = TEST_AGENT_IMAGE): void {
  try {
    execFileSync("docker", ["image", "inspect", image], { stdio: "pipe" });
  } catch {
    execFileSync("bash", [path.resolve(__dirname, "../sandbox-image/build-image.sh")], { stdio: "inherit", timeout: 600_000 });
  }
}

export async function createSandboxHarness(opts: HarnessOptions): Promise<SandboxHarness> {
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const testDb = opts.testDb ?? (await createTestDatabase());
  const db = testDb.database.db;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), "concierge-sbx-"));
  const network = opts.network ?? testNetworkName();
  const credentials = await loadCredentials(db);
  const cluster = opts.kind === "kubernetes" ? (opts.cluster ?? (await startFakeCluster())) : undefined;
  const runtime: SandboxRuntime =
    opts.kind === "docker"
      ? new DockerRuntime({ network, logger, testRunId: TEST_RUN_ID, instanceId: credentials.instanceId })
      : cluster
        ? testKubernetesRuntime(cluster, logger, credentials.instanceId)
        : new ProcessRuntime({ dataDir, agentEntry: AGENT_ENTRY, logger });
  const connections = new ConnectionManager({ signingPrivateKeyPem: credentials.privateKeyPem, logger, connectTimeoutMs: 15_000, requestTimeoutMs: 15_000 });
  const metrics = new Registry();
  const sandboxMetrics = registerSandboxMetrics(metrics);
  const base: SandboxServiceOptions = {
    db,
    runtime,
    credentials,
    settings: {
      image: opts.image ?? (opts.kind === "process" ? "process" : TEST_AGENT_IMAGE),
      limits: { memoryMb: 256, cpus: 0.5, pids: 128 },
      gatewayPort: () => 3001,
    },
    waitReady: (target, o) => connections.connect(target, o),
    disconnect: (sandboxId) => connections.close(sandboxId),
    suspendPings: (sandboxId, suspended) => (suspended ? connections.freeze(sandboxId) : connections.thaw(sandboxId)),
    exportData: (target) => connections.request(target, "data.export", {}),
    logger,
    clock: opts.clock,
    readyTimeoutMs: 20_000,
    metrics: sandboxMetrics,
    ...opts.service,
  };
  const service = new SandboxService(base);
  const reconciler = new Reconciler({ db, runtime, service, logger, clock: opts.clock, waitReady: base.waitReady, crashBackoff: { baseMs: 0, maxMs: 0 }, metrics: sandboxMetrics });
  const culler = new IdleCuller({ db, service, idleMinutes: opts.idleMinutes ?? 15, freezeMinutes: opts.freezeMinutes, logger, clock: opts.clock });
  return {
    kind: opts.kind,
    testDb,
    runtime,
    service,
    connections,
    reconciler,
    culler,
    credentials,
    dataDir,
    network,
    logger,
    metrics,
    cluster,
    async createUser(values = {}) {
      const [u] = await db.insert(users).values({ timezone: "Europe/Berlin", ...values }).returning({ id: users.id });
      return u!.id;
    },
    replica(overrides = {}) {
      return new SandboxService({ ...base, ...overrides });
    },
    async cleanup() {
      await connections.closeAll().catch(() => undefined);
      for (const inst of await runtime.list().catch(() => [])) {
        await runtime.remove({ userId: inst.userId, removeData: true }).catch(() => undefined);
      }
      if (opts.kind === "docker") await removeTestDockerObjects(network);
      if (cluster && !opts.cluster) await cluster.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (!opts.testDb) await testDb.cleanup();
    },
  };
}

/** Removes every container and volume this test run labelled, then its network. */
export async function removeTestDockerObjects(network = testNetworkName()): Promise<void> {
  const docker = new Dockerode();
  const filters = { label: [`${LABEL.testRun}=${TEST_RUN_ID}`] };
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
  await docker.getNetwork(network).remove().catch(() => undefined);
}

/** The host directory behind a user's PVC on the fake kubelet. */
function claimDirOf(h: SandboxHarness, userId: string): string {
  return h.cluster!.kubelet.claimDir(h.cluster!.namespace, claimName(userId));
}

/** Writes a file on the user's volume from inside the running sandbox (docker), its data dir (process) or its PVC's directory (kubernetes). */
export function writeOnVolume(h: SandboxHarness, userId: string, name: string, content: string): void {
  if (h.kind === "kubernetes") {
    writeFileSync(path.join(claimDirOf(h, userId), name), content);
  } else if (h.kind === "docker") {
    const script = `require("fs").writeFileSync("/data/" + process.argv[1], process.argv[2])`;
    execFileSync("docker", ["exec", containerName(userId), "node", "-e", script, name, content], { stdio: "pipe", timeout: 20_000 });
  } else {
    const dir = (h.runtime as ProcessRuntime).dataDirOf(userId);
    writeFileSync(path.join(dir, name), content);
  }
}

/** Reads it back the same way; null when absent. */
export function readOnVolume(h: SandboxHarness, userId: string, name: string): string | null {
  try {
    if (h.kind === "kubernetes") return readFileSync(path.join(claimDirOf(h, userId), name), "utf8");
    if (h.kind === "docker") {
      const script = `process.stdout.write(require("fs").readFileSync("/data/" + process.argv[1], "utf8"))`;
      return execFileSync("docker", ["exec", containerName(userId), "node", "-e", script, name], { stdio: "pipe", timeout: 20_000 }).toString();
    }
    return readFileSync(path.join((h.runtime as ProcessRuntime).dataDirOf(userId), name), "utf8");
  } catch {
    return null;
  }
}

/** Kills the sandbox behind the control plane's back: `docker kill`, or SIGKILL to the agent process. */
export function killSandbox(h: SandboxHarness, userId: string): void {
  if (h.kind === "kubernetes") {
    h.cluster!.kubelet.crash(h.cluster!.namespace, podName(userId));
  } else if (h.kind === "docker") {
    execFileSync("docker", ["kill", containerName(userId)], { stdio: "pipe", timeout: 20_000 });
  } else {
    const runFile = path.join(path.dirname((h.runtime as ProcessRuntime).dataDirOf(userId)), "run.json");
    const { pid } = JSON.parse(readFileSync(runFile, "utf8")) as { pid: number };
    process.kill(pid, "SIGKILL");
  }
}

