import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, loadConfig, type Config } from "./config";
import { createLogger, type Logger } from "./logger";
import { isDatabaseReady, migrateDatabase, openDatabase, type Database } from "./db/database";
import { createMetricsRegistry } from "./metrics";
import { createApp } from "./http/app";
import { systemClock, type Clock } from "./clock";
import { createLlmGateway } from "./llm-gateway";
import { Inbox } from "./inbox/inbox";
import { Outbox } from "./outbox/outbox";
import { loadCredentials } from "./sandboxes/credentials";
import { createWhatsAppChannel, transcriberViaGateway } from "./channels/whatsapp";

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
  stop(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
}

export async function startControlPlane(config: Config, opts: BuildOptions = {}): Promise<ControlPlane> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  void clock;
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const onStop = (name: string, stop: () => Promise<void>) => stops.push({ name, stop });

  try {
    // 1. Database, migrated before anything reads it.
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    onStop("database", () => database.close());
    await migrateDatabase(database);

    // 2. Metrics registry, shared by every part.
    const metrics = createMetricsRegistry();

    // LLM gateway: sandboxes call /llm/v1 with their own token; the provider key stays here.
    const llmGateway = createLlmGateway({ db: database.db, llm: config.llm, policy: config.llmPolicy, logger, metrics, clock });

    // Inbox (stateless writer) and outbox (durable sends, drained per user and channel in order):
    // one of each for every channel; channels register their adapters before the outbox starts.
    const inbox = new Inbox();
    const outbox = new Outbox({ database, logger, clock, metrics });

    // WhatsApp: signed webhooks in at /whatsapp, Graph API out through the outbox. Voice notes are
    // transcribed through our own LLM gateway as the user's sandbox, so they are metered to them.
    let selfUrl = "";
    const whatsapp = createWhatsAppChannel({
      config,
      db: database.db,
      inbox,
      outbox,
      logger,
      metrics,
      clock,
      transcriber:
        config.whatsapp && config.llm
          ? transcriberViaGateway({ gatewayUrl: () => `${selfUrl}/llm/v1`, db: database.db, sandboxToken: (await loadCredentials(database.db)).tokenFor, logger })
          : undefined,
    });
    if (whatsapp.adapter) outbox.registerAdapter(whatsapp.adapter);
    await outbox.start();
    onStop("outbox", () => outbox.stop());

    // 3. HTTP last: nothing is accepted before the parts behind it are up.
    const app = createApp({
      logger,
      metrics,
      isReady: () => isDatabaseReady(database),
      routers: [
        { path: "/llm/v1", router: llmGateway.router },
        { path: "/whatsapp", router: whatsapp.router },
      ],
    });
    const server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
    onStop("http", () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
    const addr = server.address() as AddressInfo;
    const host = addr.address === "0.0.0.0" || addr.address === "::" ? "127.0.0.1" : addr.address;
    const url = `http://${host}:${addr.port}`;
    selfUrl = url;

    logger.info({ url, database: database.description, driver: database.driver }, "control plane listening");
    return {
      config,
      database,
      server,
      url,
      async stop() {
        for (const { name, stop } of stops.reverse()) {
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
  const logger = createLogger({ level: config.logLevel });
  const cp = await startControlPlane(config, { logger });
  process.stdout.write(`\nConcierge control plane listening on ${cp.url}\n  database: ${cp.database.description}\n\n`);
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
