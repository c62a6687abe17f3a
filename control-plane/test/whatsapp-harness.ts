import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { sign } from "../../test-support/meta-samples";
import type { DriverName } from "../src/db/database";
import { rows } from "../src/db/database";
import { createApp } from "../src/http/app";
import { createLogger } from "../src/logger";
import { ManualClock } from "../src/clock";
import { loadConfig } from "../src/config";
import { Inbox } from "../src/inbox/inbox";
import { Outbox } from "../src/outbox/outbox";
import { createWhatsAppChannel, type StatusProcessor } from "../src/channels/whatsapp";

export const APP_SECRET = "test-app-secret-0123456789";
export const VERIFY_TOKEN = "test-verify-token";
export const ACCESS_TOKEN = "EAAG-test-access-token";
export const PHONE_ID = "106540352242922";

/**
 * The WhatsApp channel from the factory main.ts uses, on a real database (PGlite or PostgreSQL),
 * the real inbox and outbox, and a local fake Graph API. Time comes from a ManualClock set to now
 * (the Graph client's backoff alone runs on real timers). No agent: these tests stop at the inbox.
 */
export interface WhatsAppWorld {
  t: TestDatabase;
  url: string;
  fake: FakeGraphApi;
  clock: ManualClock;
  outbox: Outbox;
  inbox: Inbox;
  statuses: StatusProcessor;
  post(body: Buffer | string, headers?: Record<string, string>): Promise<Response>;
  q<T = Record<string, unknown>>(query: ReturnType<typeof sql>): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startWhatsAppWorld(
  driver: DriverName,
  opts: { outsideWindow?: "hold" | "template"; template?: { name: string; language: string }; startOutbox?: boolean; configured?: boolean } = {},
): Promise<WhatsAppWorld> {
  const t = await createTestDatabase(driver);
  const logger = createLogger({ level: "silent" });
  const clock = new ManualClock(new Date());
  const fake = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
  const db = t.database.db;
  const inbox = new Inbox();
  const outbox = new Outbox({ database: t.database, logger, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 }, pollIntervalMs: 25 });
  const configured = opts.configured ?? true;
  const config = loadConfig({
    DATA_DIR: ":memory:",
    ...(configured ? { WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN, WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID: PHONE_ID } : {}),
    WHATSAPP_API_BASE_URL: fake.baseUrl,
    WHATSAPP_OUTSIDE_WINDOW: opts.outsideWindow ?? "hold",
    ...(opts.template ? { WHATSAPP_TEMPLATE_NAME: opts.template.name, WHATSAPP_TEMPLATE_LANGUAGE: opts.template.language } : {}),
  });
  const channel = createWhatsAppChannel({
    config,
    db,
    inbox,
    outbox,
    logger,
    metrics: new Registry(),
    clock,
    agent: { call: async () => Promise.reject(new Error("no agent in this test")), token: async () => Promise.reject(new Error("no agent in this test")) },
    graph: { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 }, clock: undefined },
  });
  if (channel.adapter) outbox.registerAdapter(channel.adapter);
  if (opts.startOutbox) await outbox.start();

  const app = createApp({ logger, metrics: new Registry(), isReady: async () => true, routers: channel.routes ?? [] });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    t,
    url,
    fake,
    clock,
    outbox,
    inbox,
    statuses: channel.statuses!,
    post: (body, headers) =>
      fetch(`${url}/whatsapp/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, APP_SECRET), ...headers },
        body,
      }),
    q: (query) => rows(db, query),
    async stop() {
      await outbox.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.stop();
      await t.cleanup();
    },
  };
}

/**
 * One world for a describe block, emptied of users, messages, inbox and outbox rows before each
 * test. The getter is read inside tests (the world exists only after beforeAll).
 */
export function useEmptiedWhatsAppWorld(driver: DriverName): () => WhatsAppWorld {
  let w: WhatsAppWorld | undefined;
  beforeAll(async () => {
    w = await startWhatsAppWorld(driver);
  });
  afterAll(() => w?.stop());
  beforeEach(async () => {
    await w!.q(sql`TRUNCATE users, messages, inbox_events, outbox CASCADE`);
  });
  return () => w!;
}

export { waitFor } from "../../test-support/wait-for";

export async function counts(w: WhatsAppWorld): Promise<{ users: number; messages: number; inbox: number; outbox: number }> {
  const [r] = await w.q<{ users: number; messages: number; inbox: number; outbox: number }>(sql`
    SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM messages) AS messages,
           (SELECT count(*)::int FROM inbox_events) AS inbox, (SELECT count(*)::int FROM outbox) AS outbox`);
  return r!;
}
