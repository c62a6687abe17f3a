/**
 * A control-plane-like process for crash tests: the dispatcher and the outbox sender on one
 * PostgreSQL database, talking to a (fake) agent over WebSocket and to a (fake) provider over HTTP,
 * exactly as the control plane wires them. The test SIGKILLs it mid-burst and starts it again.
 *
 *   node --import tsx test-support/routing-child.ts
 *   env: DATABASE_URL, AGENT_ENDPOINT (ws://...), PROVIDER_URL, SIGNING_KEY_B64 (PKCS#8 PEM, base64),
 *        and optionally LEASE_SECONDS, SEND_LEASE_MS, CONCURRENCY, WORKER_ID (unset: the product's
 *        defaults from config.ts, and the product's retry and poll settings)
 * Prints "ready" once it is draining.
 */
import { loadConfig } from "../control-plane/src/config";
import { createLogger } from "../control-plane/src/logger";
import { openDatabase } from "../control-plane/src/db/database";
import { ConnectionManager } from "../control-plane/src/connections/connection-manager";
import { Dispatcher } from "../control-plane/src/inbox/dispatcher";
import { messageHandler } from "../control-plane/src/inbox/message-handler";
import { createAgentPort } from "../control-plane/src/agent-port";
import { Outbox } from "../control-plane/src/outbox/outbox";
import { fakeProviderAdapter } from "./fake-provider";

async function main(): Promise<void> {
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required`);
    return v;
  };
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
  const database = await openDatabase({ databaseUrl: env("DATABASE_URL"), dataDir: ":memory:", poolSize: 20 });
  const endpoint = env("AGENT_ENDPOINT");
  const connections = new ConnectionManager({
    signingPrivateKeyPem: Buffer.from(env("SIGNING_KEY_B64"), "base64").toString("utf8"),
    logger,
    requestTimeoutMs: 5000,
    connectTimeoutMs: 2000,
  });
  const sandboxes = { ensure: async (userId: string) => ({ userId, sandboxId: `sbx-${userId}`, endpoint, token: `tok-sbx-${userId}` }) };
  // Unset: what main.ts runs with (config defaults, main's retry schedule, the default poll).
  const defaults = loadConfig({}).inbox;
  const tuned = process.env.LEASE_SECONDS !== undefined;
  const concurrency = Number(process.env.CONCURRENCY ?? defaults.concurrency);
  const workerId = process.env.WORKER_ID;
  const retry = tuned ? { attempts: 10, baseDelayMs: 20, maxDelayMs: 200 } : { attempts: defaults.maxAttempts, baseDelayMs: 2_000, maxDelayMs: 60_000 };
  const outbox = new Outbox({
    database,
    logger,
    concurrency: tuned ? concurrency : undefined,
    leaseMs: Number(process.env.SEND_LEASE_MS ?? defaults.leaseSeconds * 1000),
    retry: tuned ? retry : undefined,
    pollIntervalMs: tuned ? 100 : undefined,
    workerId,
  });
  outbox.registerAdapter(fakeProviderAdapter(env("PROVIDER_URL")));
  const dispatcher = new Dispatcher({
    database,
    outbox,
    logger,
    concurrency,
    leaseSeconds: Number(process.env.LEASE_SECONDS ?? defaults.leaseSeconds),
    retry,
    pollIntervalMs: tuned ? 100 : undefined,
    workerId,
  });
  dispatcher.handle("message", messageHandler({ agent: createAgentPort({ sandboxes, connections }) }));
  await outbox.start();
  await dispatcher.start();
  process.stdout.write("ready\n");
  const stop = async () => {
    await dispatcher.stop();
    await outbox.stop();
    await connections.closeAll();
    await database.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
}

main().catch((err) => {
  process.stderr.write(`routing-child failed: ${String(err)}\n`);
  process.exit(1);
});
