/**
 * `npm run bench -- coldstart [--users=N] [--image=concierge-agent:latest] [--base=node:24-bookworm-slim]`
 *
 * Per sandbox, on the real Docker daemon through the real SandboxService (hardened container,
 * private network, signed handshake with the real agent):
 *   - cold start: ensure() for a new user -> container created and started, the agent answered the handshake
 *   - wake: ensure() for a stopped sandbox -> started, handshake answered
 *   - idle memory: what the daemon reports for the idle agent a few seconds after start
 * Beside each, in the same run, the same figure for a bare `docker run` of a minimal Node container
 * from the local base image (an HTTP server that listens at once), with the same CPU and memory
 * limits, measured until its port accepts a connection. The difference is what the agent costs.
 *
 * Everything it creates is labelled concierge.test-run=bench-<id> and removed at the end.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import Dockerode from "dockerode";
import { createLogger } from "../src/logger";
import { users } from "../src/db/schema";
import { openDatabase, migrateDatabase } from "../src/db/database";
import { ConnectionManager } from "../src/connections/connection-manager";
import { loadCredentials } from "../src/sandboxes/credentials";
import { DockerRuntime } from "../src/sandboxes/docker-runtime";
import { SandboxService } from "../src/sandboxes/sandbox-service";
import { LABEL } from "../src/sandboxes/container-spec";
import { waitForPort } from "../src/sandboxes/port-probe";

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const USERS = Math.max(1, Math.min(20, Number(arg("users", "3"))));
const IMAGE = arg("image", process.env.SANDBOX_IMAGE ?? "concierge-agent:latest");
const BASE = arg("base", "node:24-bookworm-slim");
const LIMITS = { memoryMb: 256, cpus: 0.5, pids: 128 };
const RUN = `bench-${randomBytes(4).toString("hex")}`;
const NETWORK = `concierge-${RUN}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number | null) => (b == null ? NaN : b / 1024 / 1024);

async function memoryOf(docker: Dockerode, name: string): Promise<number | null> {
  const s = (await docker.getContainer(name).stats({ stream: false, "one-shot": true } as never)) as unknown as {
    memory_stats?: { usage?: number; stats?: { inactive_file?: number; total_inactive_file?: number } };
  };
  const m = s.memory_stats;
  return m?.usage ? m.usage - (m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? 0) : null;
}

async function bareNode(docker: Dockerode, i: number): Promise<{ cold: number; wake: number; idle: number | null }> {
  const name = `concierge-${RUN}-bare-${i}`;
  const t0 = performance.now();
  const c = await docker.createContainer({
    name,
    Image: BASE,
    Cmd: ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(8080, '0.0.0.0')"],
    Labels: { [LABEL.testRun]: RUN },
    HostConfig: { NetworkMode: NETWORK, Memory: LIMITS.memoryMb * 1024 * 1024, NanoCpus: LIMITS.cpus * 1e9, PidsLimit: LIMITS.pids },
  });
  await c.start();
  const ip = async () => ((await c.inspect()).NetworkSettings.Networks[NETWORK]?.IPAddress ?? "");
  if (!(await waitForPort(`ws://${await ip()}:8080`, { timeoutMs: 30_000, intervalMs: 10 }))) throw new Error("bare node never listened");
  const cold = performance.now() - t0;
  await sleep(3000);
  const idle = await memoryOf(docker, name);
  await c.stop({ t: 5 });
  const t1 = performance.now();
  await c.start();
  if (!(await waitForPort(`ws://${await ip()}:8080`, { timeoutMs: 30_000, intervalMs: 10 }))) throw new Error("bare node never listened after start");
  const wake = performance.now() - t1;
  return { cold, wake, idle };
}

async function main(): Promise<void> {
  const logger = createLogger({ level: "warn" });
  const docker = new Dockerode();
  execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "pipe" });
  execFileSync("docker", ["image", "inspect", BASE], { stdio: "pipe" });
  const database = await openDatabase({ dataDir: ":memory:" });
  await migrateDatabase(database);
  const credentials = await loadCredentials(database.db);
  const runtime = new DockerRuntime({ docker, network: NETWORK, logger, testRunId: RUN, instanceId: credentials.instanceId });
  const connections = new ConnectionManager({ signingPrivateKeyPem: credentials.privateKeyPem, logger, connectTimeoutMs: 30_000 });
  const service = new SandboxService({
    db: database.db,
    runtime,
    credentials,
    settings: { image: IMAGE, limits: LIMITS, gatewayPort: () => 3001 },
    waitReady: (t, o) => connections.connect(t, o),
    disconnect: (id) => connections.close(id),
    logger,
    readyTimeoutMs: 60_000,
  });
  const sandbox = { cold: [] as number[], wake: [] as number[], idle: [] as number[] };
  const bare = { cold: [] as number[], wake: [] as number[], idle: [] as number[] };
  try {
    await runtime.ensureNetwork();
    for (let i = 0; i < USERS; i++) {
      const [u] = await database.db.insert(users).values({ name: `bench ${i}` }).returning({ id: users.id });
      const userId = u!.id;
      let t = performance.now();
      await service.ensure(userId);
      sandbox.cold.push(performance.now() - t);
      await sleep(3000);
      sandbox.idle.push(mib(await runtime.memoryUsage({ userId })));
      await service.stop(userId);
      t = performance.now();
      await service.ensure(userId);
      sandbox.wake.push(performance.now() - t);

      const b = await bareNode(docker, i);
      bare.cold.push(b.cold);
      bare.wake.push(b.wake);
      bare.idle.push(mib(b.idle));
      process.stderr.write(`  sandbox ${i + 1}/${USERS}: cold ${sandbox.cold[i]!.toFixed(0)} ms, wake ${sandbox.wake[i]!.toFixed(0)} ms, idle ${sandbox.idle[i]!.toFixed(1)} MiB | bare node: cold ${b.cold.toFixed(0)} ms, wake ${b.wake.toFixed(0)} ms, idle ${mib(b.idle).toFixed(1)} MiB\n`);
    }
  } finally {
    await connections.closeAll();
    const filters = { label: [`${LABEL.testRun}=${RUN}`] };
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
    await docker.getNetwork(NETWORK).remove().catch(() => undefined);
    await database.close();
  }
  const row = (label: string, a: number[], b: number[], unit: string, digits = 0) =>
    `| ${label} | ${median(a).toFixed(digits)} ${unit} | ${median(b).toFixed(digits)} ${unit} | ${(median(a) - median(b)).toFixed(digits)} ${unit} |`;
  process.stdout.write(
    [
      "",
      `coldstart: ${USERS} sandbox(es) of ${IMAGE}, limits ${LIMITS.cpus} CPU / ${LIMITS.memoryMb} MiB / ${LIMITS.pids} pids; baseline: bare \`docker run\` of ${BASE} with the same limits`,
      "",
      "| median per sandbox | concierge sandbox | bare node container | difference |",
      "|---|---|---|---|",
      row("cold start (create + start + ready)", sandbox.cold, bare.cold, "ms"),
      row("wake (start a stopped one + ready)", sandbox.wake, bare.wake, "ms"),
      row("idle memory", sandbox.idle, bare.idle, "MiB", 1),
      "",
      "ready: the agent answered the signed handshake (sandbox); the port accepted a connection (bare node).",
      "",
    ].join("\n"),
  );
}

main().catch((err) => {
  process.stderr.write(`coldstart bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
