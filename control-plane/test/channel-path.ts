import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import type { TestDatabase } from "../../test-support/db";
import type { SandboxHarness } from "../../test-support/sandbox-harness";
import { createAgentPort, type AgentPort } from "../src/agent-port";
import { registerHandlers, type Channel } from "../src/channels/channel";
import { createWhatsAppChannel, type WhatsAppChannel } from "../src/channels/whatsapp";
import { systemClock } from "../src/clock";
import { loadConfig, type Config } from "../src/config";
import { createApp } from "../src/http/app";
import { Dispatcher } from "../src/inbox/dispatcher";
import { Inbox } from "../src/inbox/inbox";
import type { Logger } from "../src/logger";
import { Outbox } from "../src/outbox/outbox";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, VERIFY_TOKEN } from "./whatsapp-harness";

/**
 * The real routing path for end-to-end tests, wired as main.ts wires it: inbox → dispatcher (the
 * WhatsApp turn) → outbox → the WhatsApp adapter aimed at a fake Graph API, behind one HTTP
 * server, the agent reached through the AgentPort. A channel under test is built by `extend` with
 * its own factory and wired through the same channel contract (routes, handlers, start, stop).
 */
export interface ChannelPathParts {
  config: Config;
  inbox: Inbox;
  outbox: Outbox;
  whatsapp: WhatsAppChannel;
  agent: AgentPort;
  logger: Logger;
}

export interface ChannelPath extends ChannelPathParts {
  dispatcher: Dispatcher;
  url: string;
  stop(): Promise<void>;
}

export async function startChannelPath(opts: {
  t: TestDatabase;
  h: SandboxHarness;
  graphBaseUrl: string;
  /** Extra environment for loadConfig (the channel's own variables). */
  env?: NodeJS.ProcessEnv;
  extend?: (parts: ChannelPathParts) => Channel[];
}): Promise<ChannelPath> {
  const { t, h } = opts;
  const config = loadConfig({
    DATA_DIR: ":memory:",
    WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
    WHATSAPP_API_BASE_URL: opts.graphBaseUrl,
    ...opts.env,
  });
  const logger = h.logger;
  const inbox = new Inbox();
  const outbox = new Outbox({ database: t.database, logger, pollIntervalMs: 50 });
  const agent = createAgentPort({ sandboxes: h.service, connections: h.connections, logger });
  const whatsapp = createWhatsAppChannel({ config, db: t.database.db, inbox, outbox, logger, clock: systemClock, agent });
  const dispatcher = new Dispatcher({
    database: t.database,
    outbox,
    logger,
    concurrency: 2,
    leaseSeconds: 120,
    retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
    pollIntervalMs: 50,
  });
  const parts = { config, inbox, outbox, whatsapp, agent, logger };
  const channels: Channel[] = [whatsapp, ...(opts.extend?.(parts) ?? [])];
  for (const channel of channels) {
    registerHandlers(dispatcher, channel);
    if (channel.adapter) outbox.registerAdapter(channel.adapter);
  }
  await outbox.start();
  await dispatcher.start();
  const routers = channels.flatMap((c) => c.routes ?? []);
  const server: Server = createServer(createApp({ logger, metrics: new Registry(), isReady: async () => true, routers }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const channel of channels) await channel.start?.({ server });
  return {
    ...parts,
    dispatcher,
    url,
    async stop() {
      for (const channel of [...channels].reverse()) await channel.stop?.();
      await dispatcher.stop();
      await outbox.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
