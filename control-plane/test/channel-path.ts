import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Router } from "express";
import { Registry } from "prom-client";
import type { TestDatabase } from "../../test-support/db";
import type { SandboxHarness } from "../../test-support/sandbox-harness";
import { createWhatsAppChannel, type WhatsAppChannel } from "../src/channels/whatsapp";
import { systemClock } from "../src/clock";
import { loadConfig, type Config } from "../src/config";
import { createApp } from "../src/http/app";
import { Dispatcher } from "../src/inbox/dispatcher";
import { Inbox } from "../src/inbox/inbox";
import { messageHandler } from "../src/inbox/message-handler";
import type { Logger } from "../src/logger";
import { Outbox } from "../src/outbox/outbox";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, VERIFY_TOKEN } from "./whatsapp-harness";

/**
 * The real routing path for end-to-end tests, wired as main.ts wires it: inbox → dispatcher (the
 * built-in message handler wrapped by WhatsApp) → outbox → the WhatsApp adapter aimed at a fake
 * Graph API, behind one HTTP server. A channel under test adds its routers and handlers through
 * `extend`, before the dispatcher starts.
 */
export interface ChannelPathParts {
  config: Config;
  inbox: Inbox;
  outbox: Outbox;
  whatsapp: WhatsAppChannel;
  logger: Logger;
}

export interface ChannelExtension {
  routers?: { path: string; router: Router }[];
  register?: (dispatcher: Dispatcher) => void;
  /** After the dispatcher started (background workers such as RTMS). */
  start?: () => void;
  /** First thing on stop, before the dispatcher stops. */
  stop?: () => Promise<void>;
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
  extend?: (parts: ChannelPathParts) => ChannelExtension;
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
  const whatsapp = createWhatsAppChannel({ config, db: t.database.db, inbox, outbox, logger, clock: systemClock });
  outbox.registerAdapter(whatsapp.adapter!);
  await outbox.start();
  const dispatcher = new Dispatcher({
    database: t.database,
    outbox,
    logger,
    concurrency: 2,
    leaseSeconds: 120,
    retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
    pollIntervalMs: 50,
  });
  dispatcher.handle("message", whatsapp.wrapMessageHandler(messageHandler({ sandboxes: h.service, connections: h.connections })));
  const parts = { config, inbox, outbox, whatsapp, logger };
  const ext = opts.extend?.(parts) ?? {};
  ext.register?.(dispatcher);
  await dispatcher.start();
  ext.start?.();
  const routers = [{ path: "/whatsapp", router: whatsapp.router }, ...(ext.routers ?? [])];
  const server: Server = createServer(createApp({ logger, metrics: new Registry(), isReady: async () => true, routers }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...parts,
    dispatcher,
    url,
    async stop() {
      await ext.stop?.();
      await dispatcher.stop();
      await outbox.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
