import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import OpenAI, { APIError } from "openai";
import { Registry } from "prom-client";
import { loadConfig, type Config } from "../src/config";
import { createLogger } from "../src/logger";
import { ManualClock, systemClock, type Clock } from "../src/clock";
import { createApp } from "../src/http/app";
import { createAdminRouter } from "../src/admin/admin-router";
import { sandboxes, users } from "../src/db/schema";
import { deriveSandboxToken, hashToken } from "../src/sandboxes/token";
import { createLlmGateway, createUsageAdminRouter, type LlmGateway, type LlmGatewayOptions } from "../src/llm-gateway";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { FakeLlmUpstream } from "../../test-support/fake-llm-upstream";
import type { DriverName } from "../src/db/database";

export const PROVIDER_KEY = "sk-or-v1-provider-secret-never-in-a-sandbox";
export const ADMIN_TOKEN = "admin-token-for-llm-gateway-tests";
const TOKEN_SECRET = "token-secret-for-llm-gateway-tests";

export interface TestSandbox {
  userId: string;
  sandboxId: string;
  token: string;
}

/**
 * The gateway as main.ts mounts it (the real express app, /llm/v1 and the usage admin routes under
 * /sandbox behind the admin router), on a real database, in front of a local fake provider. The clock's
 * date is manual (budgets change month on demand) while its timers are real (timeouts and retry
 * backoff run in real, short time).
 */
export interface GatewayHarness {
  url: string;
  upstream: FakeLlmUpstream;
  gateway: LlmGateway;
  config: Config;
  date: ManualClock;
  metrics: Registry;
  t: TestDatabase;
  /** Every log line written, to check that no secret reaches a log. */
  logs: string[];
  addSandbox(name?: string): Promise<TestSandbox>;
  client(token: string, opts?: { timeoutMs?: number }): OpenAI;
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** A raw POST under /llm/v1 with a sandbox's token, for bodies the OpenAI client would not send. */
  post(path: string, token: string, contentType: string, body: string | Buffer): Promise<Response>;
  close(): Promise<void>;
}

export interface GatewayHarnessOptions {
  env?: Record<string, string | undefined>;
  gateway?: Partial<LlmGatewayOptions>;
  /** A database shared with other parts (the caller cleans it up). */
  testDb?: TestDatabase;
  /** Where the gateway listens (default loopback; the Docker test uses the sandbox bridge's address). */
  listenHost?: string;
}

/**
 * One harness for the enclosing describe: started before its tests (options computed then, when
 * they depend on something started first), closed after them. The returned object is filled in by
 * beforeAll, so it is used only inside hooks and tests.
 */
export function useGatewayHarness(driver: DriverName, opts: GatewayHarnessOptions | (() => Promise<GatewayHarnessOptions>) = {}): GatewayHarness {
  const h = {} as GatewayHarness;
  beforeAll(async () => {
    Object.assign(h, await startGatewayHarness(driver, typeof opts === "function" ? await opts() : opts));
  });
  afterAll(async () => {
    await h.close?.();
  });
  return h;
}

export async function startGatewayHarness(driver: DriverName, opts: GatewayHarnessOptions = {}): Promise<GatewayHarness> {
  const t = opts.testDb ?? (await createTestDatabase(driver));
  const upstream = await FakeLlmUpstream.start();
  const config = loadConfig({
    LLM_BASE_URL: upstream.url,
    LLM_API_KEY: PROVIDER_KEY,
    LLM_MODEL: "test/chat-model",
    LLM_HEARTBEAT_MODEL: "test/cheap-model",
    LLM_ALLOWED_MODELS: "test/big-model",
    LLM_PRICE_INPUT_PER_MTOK: "1000",
    LLM_PRICE_OUTPUT_PER_MTOK: "2000",
    LLM_MONTHLY_BUDGET_USD: "10",
    ...opts.env,
  });
  const date = new ManualClock("2026-03-15T12:00:00Z");
  const clock: Clock = { now: () => date.now(), setTimeout: systemClock.setTimeout };
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (s: string) => void logs.push(s) } });
  const metrics = new Registry();
  const gateway = createLlmGateway({
    db: t.database.db,
    llm: config.llm,
    policy: config.llmPolicy,
    logger,
    metrics,
    clock,
    ...opts.gateway,
  });
  const usageAdmin = createAdminRouter({
    adminToken: ADMIN_TOKEN,
    routes: [createUsageAdminRouter({ db: t.database.db, defaultMonthlyBudgetUsd: config.llmPolicy.monthlyBudgetUsd, clock })],
  });
  const app = createApp({
    logger,
    metrics,
    isReady: async () => true,
    routers: [
      { path: "/llm/v1", router: gateway.router },
      { path: "/sandbox", router: usageAdmin },
    ],
  });
  const server: Server = createServer(app);
  const host = opts.listenHost ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    url,
    upstream,
    gateway,
    config,
    date,
    metrics,
    t,
    logs,
    async addSandbox(name = "Ada") {
      const db = t.database.db;
      const [user] = await db.insert(users).values({ name, phone: String(Math.floor(Math.random() * 1e12)) }).returning();
      const sandboxId = randomUUID();
      const token = deriveSandboxToken(TOKEN_SECRET, sandboxId);
      await db.insert(sandboxes).values({ id: sandboxId, userId: user!.id, state: "running", tokenHash: hashToken(token) });
      return { userId: user!.id, sandboxId, token };
    },
    client(token, o = {}) {
      return new OpenAI({ baseURL: `${url}/llm/v1`, apiKey: token, maxRetries: 0, timeout: o.timeoutMs ?? 20_000 });
    },
    post(path, token, contentType, body) {
      return fetch(`${url}/llm/v1${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": contentType }, body });
    },
    admin(path, init = {}) {
      return fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...init.headers } });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await upstream.close();
      if (!opts.testDb) await t.cleanup();
    },
  };
}

export async function markDeleted(h: GatewayHarness, sandboxId: string): Promise<void> {
  await h.t.database.db.update(sandboxes).set({ state: "deleted" }).where(eq(sandboxes.id, sandboxId));
}

/** The APIError the openai client threw for this call; anything else (or success) fails the test. */
export async function apiError(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}
