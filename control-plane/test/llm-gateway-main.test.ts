import { randomUUID } from "node:crypto";
import OpenAI from "openai";
import { eq } from "drizzle-orm";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { sandboxes, users } from "../src/db/schema";
import { loadCredentials } from "../src/sandboxes/credentials";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { chatCompletion, FakeLlmUpstream } from "../../test-support/fake-llm-upstream";

const PROVIDER_KEY = "sk-provider-key-for-the-wiring-test";
const ADMIN_TOKEN = "admin-token-for-the-wiring-test";

describeEachDriver("LLM gateway wired into the control plane", (driver) => {
  let cp: ControlPlane;
  let upstream: FakeLlmUpstream;
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    upstream = await FakeLlmUpstream.start();
    if (driver === "postgres") t = await createTestDatabase("postgres");
    cp = await startTestControlPlane({
      DATABASE_URL: t?.url,
      ADMIN_TOKEN,
      LLM_BASE_URL: upstream.url,
      LLM_API_KEY: PROVIDER_KEY,
      LLM_MODEL: "test/chat-model",
      LLM_PRICE_INPUT_PER_MTOK: "1000",
    });
  }, 60_000);
  afterAll(async () => {
    await cp?.stop();
    await upstream?.close();
    await t?.cleanup();
  });

  it("serves /llm/v1 to a token the control plane derived for a sandbox, and shows the usage to the admin", async () => {
    const db = cp.database.db;
    const [user] = await db.insert(users).values({ name: "Lin", phone: "4915112345678" }).returning();
    const sandboxId = randomUUID();
    const creds = await loadCredentials(db);
    await db.insert(sandboxes).values({ id: sandboxId, userId: user!.id, state: "running", tokenHash: creds.tokenHashFor(sandboxId) });

    upstream.enqueue({ kind: "json", body: chatCompletion("wired") });
    const client = new OpenAI({ baseURL: `${cp.sandboxUrl}/llm/v1`, apiKey: creds.tokenFor(sandboxId), maxRetries: 0 });
    const out = await client.chat.completions.create({ messages: [{ role: "user", content: "hi" }] } as never);
    expect((out as OpenAI.ChatCompletion).choices[0]!.message.content).toBe("wired");
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);

    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${cp.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" } });
    const all = await admin("/sandbox/usage");
    expect(all.status).toBe(200);
    expect((await all.json() as any).users).toEqual([expect.objectContaining({ userId: user!.id, requests: 1, promptTokens: 11 })]);
    const mine = await admin(`/sandbox/users/${user!.id}/usage?period=month`);
    expect((await mine.json() as any).totals).toMatchObject({ requests: 1 });
    const put = await admin(`/sandbox/users/${user!.id}/budget`, { method: "PUT", body: JSON.stringify({ monthlyUsd: 25 }) });
    expect(await put.json() as any).toMatchObject({ monthlyUsd: 25, source: "override" });
    // The sandbox admin's own per-sandbox route reports through the gateway's usageReport.
    const viaSandbox = await admin(`/sandbox/${user!.id}/usage`);
    expect(viaSandbox.status).toBe(200);
    expect((await viaSandbox.json() as any).usage).toMatchObject({ totals: { requests: 1 }, budget: { monthlyUsd: 25 } });
    expect((await fetch(`${cp.url}/sandbox/usage`)).status).toBe(401);

    expect(await (await fetch(`${cp.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text()).toMatch(/concierge_llm_requests_total\{endpoint="chat.completions",status="ok"\} 1/);
  });

  it("refuses a sandbox's token the moment the admin deletes it, not after the cache expires", async () => {
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${cp.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" } });
    const created = await admin("/sandbox", { method: "POST", body: JSON.stringify({ phone: "+49 151 5550001", name: "Del" }) });
    expect(created.status).toBe(201);
    const { userId } = (await created.json() as any) as { userId: string };
    const [row] = await cp.database.db.select().from(sandboxes).where(eq(sandboxes.userId, userId));
    const token = (await loadCredentials(cp.database.db)).tokenFor(row!.id, row!.tokenGeneration);
    const models = () => fetch(`${cp.sandboxUrl}/llm/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect((await models()).status).toBe(200); // now cached as valid
    expect((await admin(`/sandbox/${userId}`, { method: "DELETE" })).status).toBeLessThan(300);
    expect((await models()).status).toBe(401);
  }, 60_000);
});
