/**
 * What the sandbox benches share: the real SandboxService on the real Docker daemon (hardened
 * containers on a private network, the real ConnectionManager doing the signed handshake), built the
 * way main.ts builds it, on an in-memory database; a bare `docker run` floor; and a cleanup that
 * removes everything labelled with the run's id.
 */
import { randomBytes } from "node:crypto";
import Dockerode from "dockerode";
import { createLogger } from "../src/logger";
import { users } from "../src/db/schema";
import { openDatabase, type Database } from "../src/db/database";
import { ConnectionManager } from "../src/connections/connection-manager";
import { loadCredentials } from "../src/sandboxes/credentials";
import { DockerRuntime } from "../src/sandboxes/docker-runtime";
import { SandboxService, type ProvisionStep } from "../src/sandboxes/sandbox-service";
import { LABEL } from "../src/sandboxes/container-spec";

export const LIMITS = { memoryMb: 256, cpus: 0.5, pids: 128 };

export const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const mib = (b: number | null) => (b == null ? NaN : b / 1024 / 1024);
export const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

export interface BenchKit {
  run: string;
  network: string;
  docker: Dockerode;
  database: Database;
  runtime: DockerRuntime;
  connections: ConnectionManager;
  service: SandboxService;
  credentials: Awaited<ReturnType<typeof loadCredentials>>;
  logger: ReturnType<typeof createLogger>;
  /** The same service with the startup CPU boost off (SANDBOX_START_CPUS=0), for the comparison. */
  unboosted: SandboxService;
  /** Per user, when each provisioning step was reached (performance.now()). */
  steps: Map<string, Partial<Record<ProvisionStep, number>>>;
  createUser(name: string): Promise<string>;
  /** Memory the daemon reports for a container, page cache that can be dropped excluded. */
  memoryOf(name: string): Promise<number | null>;
  cleanup(): Promise<void>;
}

export async function createBenchKit(image: string, opts: { startCpus?: number } = {}): Promise<BenchKit> {
  const run = `bench-${randomBytes(4).toString("hex")}`;
  const network = `concierge-${run}`;
  const logger = createLogger({ level: "warn" });
  const docker = new Dockerode();
  const database = await openDatabase({ dataDir: ":memory:" });
  await database.migrate();
  const credentials = await loadCredentials(database.db);
  const runtime = new DockerRuntime({ docker, network, logger, testRunId: run, instanceId: credentials.instanceId });
  const connections = new ConnectionManager({ signingPrivateKeyPem: credentials.privateKeyPem, logger, connectTimeoutMs: 60_000 });
  const steps = new Map<string, Partial<Record<ProvisionStep, number>>>();
  const makeService = (startCpus: number | undefined) => new SandboxService({
    db: database.db,
    runtime,
    credentials,
    settings: { image, limits: LIMITS, gatewayPort: () => 3001, startCpus },
    waitReady: (t, o) => connections.connect(t, o),
    disconnect: (id) => connections.close(id),
    suspendPings: (id, suspended) => (suspended ? connections.freeze(id) : connections.thaw(id)),
    logger,
    readyTimeoutMs: 60_000,
    hooks: { onStep: (step, userId) => void steps.set(userId, { ...steps.get(userId), [step]: performance.now() }) },
  });
  const service = makeService(opts.startCpus);
  const unboosted = makeService(undefined);
  await runtime.ensureNetwork();
  return {
    run,
    network,
    docker,
    database,
    runtime,
    connections,
    service,
    credentials,
    logger,
    unboosted,
    steps,
    async createUser(name) {
      const [u] = await database.db.insert(users).values({ name }).returning({ id: users.id });
      return u!.id;
    },
    async memoryOf(name) {
      const s = (await docker.getContainer(name).stats({ stream: false, "one-shot": true } as never)) as unknown as {
        memory_stats?: { usage?: number; stats?: { inactive_file?: number; total_inactive_file?: number } };
      };
      const m = s.memory_stats;
      return m?.usage ? m.usage - (m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? 0) : null;
    },
    async cleanup() {
      await connections.closeAll();
      const filters = { label: [`${LABEL.testRun}=${run}`] };
      const containers = await docker.listContainers({ all: true, filters });
      for (let i = 0; i < containers.length; i += 20) {
        await Promise.all(containers.slice(i, i + 20).map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      }
      const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
      for (let i = 0; i < volumes.length; i += 20) {
        await Promise.all(volumes.slice(i, i + 20).map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
      }
      await docker.getNetwork(network).remove().catch(() => undefined);
      await database.close();
    },
  };
}
