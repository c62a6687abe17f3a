/**
 * A control-plane-like process for the SIGKILL fault test: it opens the test database, builds the
 * real SandboxService on the real runtime and ensures one user's sandbox, pausing forever at the
 * provisioning step named by STOP_AT (after printing "AT <step>") so the parent can SIGKILL it
 * exactly there. Run with `node --import tsx`.
 */
import { createLogger } from "../control-plane/src/logger";
import { openDatabase } from "../control-plane/src/db/database";
import { ConnectionManager } from "../control-plane/src/connections/connection-manager";
import { loadCredentials } from "../control-plane/src/sandboxes/credentials";
import { DockerRuntime } from "../control-plane/src/sandboxes/docker-runtime";
import { ProcessRuntime } from "../control-plane/src/sandboxes/process-runtime";
import { SandboxService, type ProvisionStep } from "../control-plane/src/sandboxes/sandbox-service";
import { AGENT_ENTRY } from "../control-plane/src/sandboxes/runtime-choice";
import type { SandboxRuntime } from "../control-plane/src/sandboxes/runtime";

async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger({ level: "silent" });
  const database = await openDatabase({ databaseUrl: env.CHILD_DATABASE_URL!, dataDir: ":memory:" });
  const credentials = await loadCredentials(database.db);
  const runtime: SandboxRuntime =
    env.CHILD_RUNTIME === "docker"
      ? new DockerRuntime({ network: env.CHILD_NETWORK!, logger, testRunId: env.CHILD_TEST_RUN_ID, instanceId: credentials.instanceId })
      : new ProcessRuntime({ dataDir: env.CHILD_DATA_DIR!, agentEntry: AGENT_ENTRY, logger });
  const connections = new ConnectionManager({ signingPrivateKeyPem: credentials.privateKeyPem, logger, connectTimeoutMs: 15_000 });
  const service = new SandboxService({
    db: database.db,
    runtime,
    credentials,
    settings: { image: env.CHILD_IMAGE!, limits: { memoryMb: 256, cpus: 0.5, pids: 128 }, gatewayPort: () => 3001 },
    waitReady: (t, o) => connections.connect(t, o),
    logger,
    hooks: {
      onStep: (step: ProvisionStep) => {
        if (step !== env.STOP_AT) return;
        process.stdout.write(`AT ${step}\n`);
        return new Promise<void>(() => undefined); // wait here to be killed
      },
    },
  });
  await service.ensure(env.CHILD_USER_ID!);
  process.stdout.write("DONE\n");
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(`FAILED ${(err as Error).message}\n`);
  process.exit(1);
});
