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
import { Inbox } from "../src/inbox/inbox";
import { Outbox } from "../src/outbox/outbox";
import {
  GraphApiClient,
  InboundRecorder,
  StatusProcessor,
  WhatsAppAdapter,
  createWhatsAppRouter,
  releaseHeldMessages,
} from "../src/channels/whatsapp";

export const APP_SECRET = "test-app-secret-0123456789";
export const VERIFY_TOKEN = "test-verify-token";
export const ACCESS_TOKEN = "EAAG-test-access-token";
export const PHONE_ID = "106540352242922";

/**
 * The WhatsApp channel wired the way main.ts wires it, on a real database (PGlite or PostgreSQL),
 * the real inbox and outbox, and a local fake Graph API. Time comes from a ManualClock set to now.
 */
export interface WhatsAppWorld {
  t: TestDatabase;
  url: string;
  fake: FakeGraphApi;
  clock: ManualClock;
  outbox: Outbox;
  inbox: Inbox;
  graph: GraphApiClient;
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
  const graph = new GraphApiClient({ baseUrl: fake.baseUrl, phoneNumberId: PHONE_ID, accessToken: ACCESS_TOKEN, logger, clock: undefined, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
  const outsideWindow = opts.outsideWindow ?? "hold";
  const recorder = new InboundRecorder({ db, inbox, outbox, clock, logger, onUserWrote: (tx, userId) => releaseHeldMessages(tx, userId, outbox, clock.now()).then(() => undefined) });
  const statuses = new StatusProcessor({ db, clock, logger, outsideWindow, template: opts.template, outbox });
  outbox.registerAdapter(new WhatsAppAdapter({ graph, db, clock, logger, outsideWindow, template: opts.template, onSent: (wamid) => statuses.replay(wamid) }));
  if (opts.startOutbox) await outbox.start();

  const configured = opts.configured ?? true;
  const app = createApp({
    logger,
    metrics: new Registry(),
    isReady: async () => true,
    routers: [
      {
        path: "/whatsapp",
        router: createWhatsAppRouter(
          configured
            ? { credentials: { verifyToken: VERIFY_TOKEN, appSecret: APP_SECRET }, phoneNumberId: PHONE_ID, recorder, statuses, logger, metrics: new Registry() }
            : { logger },
        ),
      },
    ],
  });
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
    graph,
    statuses,
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
