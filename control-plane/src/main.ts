import type { Server } from "node:http";
import { rm } from "node:fs/promises";
import { ConfigError, loadConfig, type Config } from "./config";
import { createLogger, type Logger } from "./logger";
import { isDatabaseReady, openDatabase, type Database } from "./db/database";
import { createMetricsRegistry } from "./metrics";
import { createApp } from "./http/app";
import { listen } from "./http/listen";
import { systemClock, type Clock } from "./clock";
import { createLlmGateway, createUsageAdminRouter } from "./llm-gateway";
import { Inbox } from "./inbox/inbox";
import { Outbox } from "./outbox/outbox";
import { Dispatcher } from "./inbox/dispatcher";
import { Retention } from "./queue/retention";
import { resolveWorkerId } from "./queue/worker-id";
import { createEventsAdminRouter } from "./inbox/events-admin-router";
import { loadCredentials } from "./sandboxes/credentials";
import { createWhatsAppChannel, localWhatsAppSink } from "./channels/whatsapp";
import { createVoiceChannel } from "./channels/voice";
import { registerHandlers, type Channel } from "./channels/channel";
import { createAgentPort } from "./agent-port";
import { createAdminRouter } from "./admin/admin-router";
import { ConnectionManager } from "./connections/connection-manager";
import { SandboxService } from "./sandboxes/sandbox-service";
import { chooseRuntime } from "./sandboxes/runtime-choice";
import { Reconciler } from "./sandboxes/reconciler";
import { IdleCuller } from "./sandboxes/idle-culler";
import { LeaderLease } from "./sandboxes/leader-lease";
import type { RuntimeKind } from "./sandboxes/runtime";
import { createSandboxRouter } from "./admin/sandbox-routes";
import { resolveAdminToken } from "./admin/admin-token";
import { registerSandboxMetrics } from "./sandboxes/sandbox-metrics";
import { createProactive } from "./scheduler/proactive";
import { createZoomChannel } from "./channels/zoom";
import { createDashboard } from "./admin/dashboard";
import { StartRefusedError } from "./errors";
import { prepareDataDir, restrictDataDirFiles } from "./data-dir";

/**
 * The one wiring file: builds every part from config, starts them in order and stops them in
 * reverse. Nothing else constructs parts or reads process.env.
 */
export interface ControlPlane {
  config: Config;
  database: Database;
  server: Server;
  /** The address it listens on, e.g. http://127.0.0.1:3001 */
  url: string;
  /** The sandbox listener (only /llm/v1), e.g. http://172.18.0.1:3002 */
  sandboxUrl: string;
  sandboxes: SandboxService;
  /** Which sandbox runtime was chosen, and why; with DATA_DIR=":memory:", the process runtime's temp directory (removed by stop). */
  runtime: { kind: RuntimeKind; reason: string; scratchDir?: string };
  /** Where the admin token came from; the token itself only when it was generated just now. */
  admin: { source: "env" | "file" | "generated"; file?: string; generatedToken?: string };
  /** The operator dashboard, e.g. http://127.0.0.1:3001/admin */
  dashboardUrl: string;
  /** "meta": WHATSAPP_* is configured; "local": generated secrets and the built-in Graph API sink (the chat console). */
  whatsapp: { mode: "meta" | "local"; credentialsFile?: string };
  stop(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
}

export async function startControlPlane(config: Config, opts: BuildOptions = {}): Promise<ControlPlane> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const onStop = (name: string, stop: () => Promise<void>) => stops.push({ name, stop });

  try {
    // 0. DATA_DIR private (0700), or no start: it holds the database and the keys.
    prepareDataDir(config.dataDir);
    // 1. Database, migrated before anything reads it.
    // Pool: a turn in flight holds no connection (only its claim, completion or failure does, one
    // statement each), so the pool is sized on its own (DATABASE_POOL_SIZE), not from INBOX_CONCURRENCY.
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.queue.poolSize, logger });
    onStop("database", async () => {
      await database.close();
      restrictDataDirFiles(config.dataDir);
    });
    await database.migrate();
    restrictDataDirFiles(config.dataDir);

    // 2. Metrics registry, shared by every part.
    const metrics = createMetricsRegistry();

    // LLM gateway: sandboxes call /llm/v1 with their own token; the provider key stays here.
    const llmGateway = createLlmGateway({ db: database.db, llm: config.llm, policy: config.llmPolicy, logger, metrics, clock });

    // Sandboxes: the signing key and token secret (shared by replicas), the runtime (SANDBOX_RUNTIME,
    // else Docker when sandboxes run in it or a daemon answers with the image, else child processes
    // on a machine that never had Docker; never a silent fallback), one signed socket per running
    // agent, and the service that creates, wakes, stops and deletes them.
    const credentials = await loadCredentials(database.db, { keyFile: config.keyFile, logger });
    const { runtime, reason: runtimeReason, scratchDir } = await chooseRuntime(config, logger, { instanceId: credentials.instanceId, db: database.db });
    // DATA_DIR=":memory:" with the process runtime: its temp directory goes once its agents have
    // stopped (stops run in reverse, and theirs is registered below).
    if (scratchDir) onStop("sandbox scratch directory", () => rm(scratchDir, { recursive: true, force: true }));
    const connections = new ConnectionManager({
      signingPrivateKeyPem: credentials.privateKeyPem,
      logger,
      metrics,
      clock,
      requestTimeoutMs: config.sandbox.requestTimeoutMs,
    });
    onStop("connections", () => connections.closeAll());
    // The sandbox listener: the only thing sandboxes reach, serving /llm/v1 alone (no admin API,
    // webhooks, dashboard or metrics), bound to an address on their network (docs/topology.md).
    // Up before reconciliation, which may create sandboxes that need its address.
    const sandboxHost = config.sandbox.listenHost ?? (await runtime.listenHost?.()) ?? "0.0.0.0";
    const sandboxListener = await listen(createApp({ logger, routers: [{ path: "/llm/v1", router: llmGateway.router }] }), config.sandbox.listenPort, sandboxHost);
    onStop("sandbox-http", () => sandboxListener.close());
    const sandboxMetrics = registerSandboxMetrics(metrics);
    const sandboxes = new SandboxService({
      db: database.db,
      runtime,
      credentials,
      settings: {
        image: runtime.kind === "process" ? "process" : config.sandbox.image,
        limits: { memoryMb: config.sandbox.memoryMb, cpus: config.sandbox.cpus, pids: config.sandbox.pids },
        startCpus: config.sandbox.startCpus,
        // An operator-chosen listener address is where sandboxes call; else the runtime says.
        gatewayUrl: config.sandbox.gatewayUrl ?? (config.sandbox.listenHost ? `http://${config.sandbox.listenHost}:${sandboxListener.port}/llm/v1` : undefined),
        gatewayPort: () => sandboxListener.port,
        llm: config.llm ? { model: config.llm.model, heartbeatModel: config.llm.heartbeatModel } : undefined,
      },
      waitReady: (target, o) => connections.connect(target, o),
      disconnect: (sandboxId) => connections.close(sandboxId),
      suspendPings: (sandboxId, suspended) => (suspended ? connections.freeze(sandboxId) : connections.thaw(sandboxId)),
      onDeleted: (sandboxId) => llmGateway.authenticator.forget(sandboxId),
      onTokenRevoked: (sandboxId) => llmGateway.authenticator.forget(sandboxId),
      exportData: (target) => connections.request(target, "data.export", {}),
      logger,
      clock,
      metrics: sandboxMetrics,
    });
    // Containers outlive the control plane; the process runtime's agents stop with it.
    if (runtime.kind === "process") onStop("process sandboxes", () => sandboxes.stopAll());
    // Reconcile once before anything is accepted (adopt, fix drift, remove orphans), then keep at it.
    // With several replicas only the holder of the "reconciler" lease reconciles; the idle culler
    // and the scheduler claim rows and need none (docs/kubernetes.md).
    const reconcilerLease = new LeaderLease({ db: database.db, name: "reconciler", clock, logger });
    onStop("reconciler lease", () => reconcilerLease.release());
    const reconciler = new Reconciler({
      db: database.db,
      runtime,
      service: sandboxes,
      logger,
      clock,
      waitReady: (target, o) => connections.connect(target, o),
      metrics: sandboxMetrics,
      lease: reconcilerLease,
    });
    await reconciler.runOnce().catch((err) => logger.error({ err }, "start-up reconciliation failed"));
    reconciler.start({ immediately: false });
    onStop("reconciler", () => reconciler.stop());
    const culler = new IdleCuller({ db: database.db, service: sandboxes, idleMinutes: config.sandbox.idleMinutes, freezeMinutes: config.sandbox.freezeMinutes, logger, clock });
    culler.start();
    onStop("idle-culler", () => culler.stop());
    const admin = await resolveAdminToken({ configured: config.adminToken, dataDir: config.dataDir });
    // Every part reaches a user's agent through this: ensure the sandbox, then the request.
    const agent = createAgentPort({ sandboxes, connections, logger });

    // Inbox (writer) and outbox (durable sends, drained per user and channel in order): one of
    // each for every channel; channels register their adapters before the outbox starts.
    // One queue worker id per DATA_DIR: a restart takes back its previous run's leases at once.
    const workerId = resolveWorkerId({ dataDir: config.dataDir, configured: config.queue.workerId });
    const outbox = new Outbox({ database, logger, clock, metrics, leaseMs: config.inbox.leaseSeconds * 1000, workerId });
    // Dispatcher: drains the inbox per user, in order, users in parallel; channels and the
    // scheduler register a handler per event kind before it starts (just before HTTP).
    const dispatcher = new Dispatcher({
      database,
      outbox,
      logger,
      clock,
      metrics,
      concurrency: config.inbox.concurrency,
      leaseSeconds: config.inbox.leaseSeconds,
      workerId,
      // A turn that fails on its own (the agent answered with an error) spans tens of seconds of
      // attempts before the apology; the infrastructure failing (Docker restarting, a sandbox not
      // starting, the database away) is retried for much longer and apologised for only at the end.
      retry: { attempts: config.inbox.maxAttempts, baseDelayMs: 2_000, maxDelayMs: 60_000 },
      infraRetry: { attempts: config.inbox.infraAttempts, baseDelayMs: 5_000, maxDelayMs: 300_000 },
    });
    // A webhook's event goes straight to this process's dispatcher when it has a free slot.
    const inbox = new Inbox({ turns: dispatcher });

    // Channels: each one module behind one contract (channels/channel.ts). Voice first: the
    // WhatsApp turn asks it for the phone PIN and "yes, that was me" (docs/voice-trust.md), the
    // scheduler for urgent calls. Without Twilio it is disabled and skipped below.
    let selfUrl = "";
    const voice = createVoiceChannel({ config, database, logger, clock, inbox, outbox, agent });
    const localWhatsApp = await localWhatsAppSink({ config, selfUrl: () => selfUrl, clock, logger });
    const whatsapp = createWhatsAppChannel({
      config,
      local: localWhatsApp,
      db: database.db,
      inbox,
      outbox,
      logger,
      metrics,
      clock,
      agent,
      gatewayUrl: config.llm ? () => `${sandboxListener.url}/llm/v1` : undefined,
      commands: voice.whatsAppCommands,
    });
    const zoom = createZoomChannel({ config, database, inbox, agent, logger, clock, metrics });
    const channels: Channel[] = [whatsapp, voice, zoom].filter((c) => c.enabled);
    for (const channel of channels) {
      registerHandlers(dispatcher, channel);
      if (channel.adapter) outbox.registerAdapter(channel.adapter);
      if (channel.onAgentEvent) connections.onEvent(channel.onAgentEvent);
    }

    // Proactive: heartbeats and exact-time reminders. Schedules are rows; a due one becomes a
    // "heartbeat" or "alarm" inbox event (one per slot), worked by the handlers registered here.
    // The agent's alarm.set and profile.updated events move the rows.
    const placeCall = voice.placeCall;
    const proactive = createProactive({
      database,
      inbox,
      logger,
      metrics,
      clock,
      heartbeat: config.heartbeat,
      agent,
      placeCall: placeCall ? async (userId, text) => void (await placeCall(userId, text)) : undefined,
    });
    proactive.register(dispatcher);
    connections.onEvent(proactive.onAgentEvent);
    await outbox.start();
    onStop("outbox", () => outbox.stop());

    // HTTP stops after the dispatcher (stops run in reverse): a turn being worked at shutdown still
    // reaches the LLM gateway and finishes, instead of failing on a closed listener.
    let stopHttp = async () => {};
    onStop("http", () => stopHttp());
    // Every handler is registered by now; the outbox is already draining.
    await dispatcher.start();
    onStop("dispatcher", () => dispatcher.stop());
    // Finished queue rows (they hold message text) go after QUEUE_RETENTION_DAYS.
    const retention = new Retention({ database, logger, clock, days: config.queue.retentionDays });
    retention.start();
    onStop("retention", () => retention.stop());
    // The scheduler after the dispatcher, so what it enqueues is worked at once; it stops first.
    proactive.scheduler.start();
    onStop("scheduler", () => proactive.scheduler.stop());
    // 3. HTTP last: nothing is accepted before the parts behind it are up.
    const dashboard = createDashboard({ db: database.db, service: sandboxes, agent, adminToken: admin.token, logger, sink: whatsapp.sink });
    const app = createApp({
      logger,
      metrics,
      metricsToken: config.metricsToken ?? admin.token,
      isReady: () => isDatabaseReady(database),
      routers: [
        // One admin router, one token check; the order of its parts is the order paths are tried.
        {
          path: "/sandbox",
          router: createAdminRouter({
            adminToken: admin.token,
            routes: [
              createUsageAdminRouter({ db: database.db, defaultMonthlyBudgetUsd: config.llmPolicy.monthlyBudgetUsd, clock }),
              proactive.adminRoutes,
              createEventsAdminRouter({ database, inbox }),
              dashboard.adminRoutes,
              ...channels.flatMap((c) => (c.adminRoutes ? [c.adminRoutes] : [])),
              // Last: its GET /:key would take "usage" (or any one segment) for a user.
              createSandboxRouter({
                db: database.db,
                service: sandboxes,
                agent,
                defaultTimezone: config.heartbeat.defaultTimezone,
                logger,
                usage: (userId) => llmGateway.usageReport(userId),
                onUserDeleted: (user) => {
                  for (const channel of channels) channel.onUserDeleted?.(user);
                },
              }),
            ],
          }),
        },
        // The operator dashboard at /admin and its console API.
        ...dashboard.routes,
        ...channels.flatMap((c) => c.routes ?? []),
      ],
    });
    // With HOST=0.0.0.0 the main listener also sits on the sandbox network's gateway: not for them.
    // (Loopback is shared by everything on the host, process-runtime agents included: nothing to refuse.)
    const refuseLocalAddress = sandboxHost.startsWith("127.") || ["::1", "0.0.0.0", "::"].includes(sandboxHost) ? undefined : sandboxHost;
    const { server, url, close } = await listen(app, config.port, config.host, { refuseLocalAddress });
    stopHttp = close;
    selfUrl = url;
    // Channels' background work and upgrades (RTMS streams, Twilio Media Streams) once HTTP
    // listens; they stop before it, and before the dispatcher.
    for (const channel of channels) {
      await channel.start?.({ server });
      const stop = channel.stop;
      if (stop) onStop(channel.name, stop);
    }

    logger.info({ url, sandboxUrl: sandboxListener.url, database: database.description, driver: database.driver, runtime: runtime.kind }, "control plane listening");
    return {
      config,
      database,
      server,
      url,
      sandboxUrl: sandboxListener.url,
      sandboxes,
      runtime: { kind: runtime.kind, reason: runtimeReason, ...(scratchDir ? { scratchDir } : {}) },
      admin: { source: admin.source, file: admin.file, generatedToken: admin.source === "generated" ? admin.token : undefined },
      dashboardUrl: `${url}/admin`,
      whatsapp: { mode: localWhatsApp ? "local" : "meta", credentialsFile: localWhatsApp?.credentialsFile },
      async stop() {
        for (const { name, stop } of stops.reverse()) {
          logger.debug({ part: name }, "stopping");
          await stop().catch((err) => logger.error({ err, part: name }, "error while stopping"));
        }
      },
    };
  } catch (err) {
    for (const { stop } of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Everything this process writes (PGlite's files, keys, tokens) is for this user only.
  process.umask(0o077);
  const logger = createLogger({ level: config.logLevel });
  let cp: ControlPlane;
  try {
    cp = await startControlPlane(config, { logger });
  } catch (err) {
    if (err instanceof StartRefusedError) {
      process.stderr.write(`Concierge control plane refuses to start: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  process.stdout.write(`\nConcierge control plane listening on ${cp.url}\n  database: ${cp.database.description}\n`);
  process.stdout.write(`  sandbox runtime: ${cp.runtime.kind} (${cp.runtime.reason})\n`);
  // Never the token itself: stdout ends up in container logs. Only where to read it.
  if (cp.admin.source === "generated") {
    process.stdout.write(
      cp.admin.file
        ? `  admin token: generated, saved to ${cp.admin.file} (mode 0600)\n`
        : "  admin token: generated for this process only (DATA_DIR=:memory:); set ADMIN_TOKEN to use the admin API\n",
    );
  } else if (cp.admin.source === "file") process.stdout.write(`  admin token: in ${cp.admin.file}\n`);
  process.stdout.write(`  dashboard: ${cp.dashboardUrl}\n`);
  if (cp.whatsapp.mode === "local") {
    process.stdout.write(
      `  WhatsApp: not configured; running against the built-in local Graph API sink${cp.whatsapp.credentialsFile ? ` (secrets in ${cp.whatsapp.credentialsFile})` : ""}.\n` +
        `    Chat with an assistant from the dashboard's chat console: ${cp.dashboardUrl}#/console\n`,
    );
  }
  process.stdout.write("\n");
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    cp.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
