import { eq } from "drizzle-orm";
import { llmUsage, sandboxes } from "../src/db/schema";
import { describeEachDriver } from "../../test-support/db";
import { chatChunks, chatCompletion } from "../../test-support/fake-llm-upstream";
import { apiError, markDeleted, PROVIDER_KEY, useGatewayHarness, type GatewayHarness, type TestSandbox } from "./llm-gateway-harness";

const messages = [{ role: "user" as const, content: "What's on my list today?" }];

async function usageRows(h: GatewayHarness, userId: string) {
  return h.t.database.db.select().from(llmUsage).where(eq(llmUsage.userId, userId)).orderBy(llmUsage.createdAt);
}

describeEachDriver("LLM gateway", (driver) => {
  const h = useGatewayHarness(driver);
  let sbx: TestSandbox;
  beforeAll(async () => {
    sbx = await h.addSandbox();
  });
  // Rows are stamped with the manual date; a second per test keeps "the latest row" unambiguous.
  beforeEach(() => h.date.advance(1_000));

  describe("authentication by sandbox token", () => {
    it("refuses a missing or wrong token with 401 in OpenAI's error shape, without calling the provider", async () => {
      const before = h.upstream.requests.length;
      const err = await apiError(h.client("sbx_not-a-real-token").chat.completions.create({ model: "test/chat-model", messages }));
      expect(err.status).toBe(401);
      expect(err.code).toBe("invalid_api_key");

      const res = await fetch(`${h.url}/llm/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status).toBe(401);
      expect(await res.json() as any).toEqual({
        error: { message: "Invalid or missing sandbox token.", type: "invalid_request_error", param: null, code: "invalid_api_key" },
      });
      // The provider key is not a sandbox token either.
      expect((await apiError(h.client(PROVIDER_KEY).models.list())).status).toBe(401);
      expect(h.upstream.requests.length).toBe(before);
    });

    it("stops accepting a deleted sandbox's token once the short cache expires, and at once when told", async () => {
      const doomed = await h.addSandbox("Doomed");
      await h.client(doomed.token).chat.completions.create({ messages, model: "test/chat-model" });
      await markDeleted(h, doomed.sandboxId);
      h.date.advance(6_000);
      expect((await apiError(h.client(doomed.token).chat.completions.create({ messages, model: "test/chat-model" }))).status).toBe(401);

      const removed = await h.addSandbox("Removed");
      await h.client(removed.token).models.list();
      await h.t.database.db.delete(sandboxes).where(eq(sandboxes.id, removed.sandboxId));
      h.gateway.authenticator.forget(removed.sandboxId);
      expect((await apiError(h.client(removed.token).models.list())).status).toBe(401);
    });
  });

  it("lists the allowlist in OpenAI's model list shape", async () => {
    const page = await h.client(sbx.token).models.list();
    expect(page.data.map((m) => m.id).sort()).toEqual(["test/big-model", "test/chat-model", "test/cheap-model"]);
    expect(page.data[0]).toMatchObject({ object: "model", owned_by: "concierge" });
  });

  it("forwards a completion with the provider key, never the sandbox token, and meters it", async () => {
    h.upstream.enqueue({ kind: "json", body: chatCompletion("You have three tasks.", { usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }) });
    const completion = await h.client(sbx.token).chat.completions.create(
      { model: "test/chat-model", messages },
      { headers: { "x-concierge-purpose": "chat" } },
    );
    expect(completion.choices[0]!.message.content).toBe("You have three tasks.");

    const seen = h.upstream.requests.at(-1)!;
    expect(seen.path).toBe("/v1/chat/completions");
    expect(seen.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(JSON.stringify(seen.headers) + seen.body.toString()).not.toContain(sbx.token);
    expect(seen.json).toMatchObject({ model: "test/chat-model", messages });

    const [row] = (await usageRows(h, sbx.userId)).slice(-1);
    expect(row).toMatchObject({
      sandboxId: sbx.sandboxId,
      endpoint: "chat.completions",
      model: "test/chat-model",
      purpose: "chat",
      promptTokens: 11,
      completionTokens: 7,
      status: "ok",
      httpStatus: 200,
      estimated: false,
    });
    // LLM_PRICE_*_PER_MTOK = 1000 / 2000 USD: (11 * 1000 + 7 * 2000) / 1e6
    expect(row!.costUsd).toBeCloseTo(0.025, 10);
    expect(row!.createdAt.toISOString()).toBe(h.date.now().toISOString());
  });

  it("takes the provider's own cost when it reports one, as OpenRouter does", async () => {
    h.upstream.enqueue({ kind: "json", body: chatCompletion("ok", { usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, cost: 0.0042 } }) });
    await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages });
    const [row] = (await usageRows(h, sbx.userId)).slice(-1);
    expect(row!.costUsd).toBeCloseTo(0.0042, 10);
    expect(row!.promptTokens).toBe(100);
  });

  it("passes a stream through chunk by chunk, asks for usage, and meters it from the last chunk", async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let releasedByTimer = false;
    const safety = setTimeout(() => {
      releasedByTimer = true;
      release();
    }, 8_000);
    h.upstream.enqueue({
      kind: "sse",
      events: chatChunks(["Buy ", "milk ", "today."], { usage: { prompt_tokens: 30, completion_tokens: 4, total_tokens: 34 } }),
      gapMs: 10,
      holdBeforeLast: hold,
    });
    // No model: the gateway fills in LLM_MODEL.
    const stream = await h.client(sbx.token).chat.completions.create({ model: undefined as unknown as string, messages, stream: true });
    let text = "";
    let upstreamFinishedAtFirstContent: boolean | undefined;
    let usage: unknown;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content ?? "";
      if (delta && upstreamFinishedAtFirstContent === undefined) {
        upstreamFinishedAtFirstContent = h.upstream.streams.at(-1)!.finished;
        release();
      }
      text += delta;
      if (chunk.usage) usage = chunk.usage;
    }
    clearTimeout(safety);
    expect(text).toBe("Buy milk today.");
    // The sandbox read its first words while the provider was still holding its last event back.
    expect(upstreamFinishedAtFirstContent).toBe(false);
    expect(releasedByTimer).toBe(false);
    expect(usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 4 });

    const seen = h.upstream.requests.at(-1)!;
    expect(seen.json).toMatchObject({ model: "test/chat-model", stream: true, stream_options: { include_usage: true } });
    const [row] = (await usageRows(h, sbx.userId)).slice(-1);
    expect(row).toMatchObject({ promptTokens: 30, completionTokens: 4, status: "ok", estimated: false });
    expect(row!.costUsd).toBeCloseTo((30 * 1000 + 4 * 2000) / 1e6, 10);
  });

  it("estimates a stream's tokens when the provider never sends usage, so it still counts", async () => {
    h.upstream.enqueue({ kind: "sse", events: chatChunks(["x".repeat(400)], { usage: null }) });
    const stream = await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, stream: true });
    for await (const _ of stream) void _;
    const [row] = (await usageRows(h, sbx.userId)).slice(-1);
    expect(row).toMatchObject({ status: "ok", estimated: true, completionTokens: 100 });
    expect(row!.promptTokens).toBeGreaterThan(0);
  });

  describe("model policy", () => {
    it("uses LLM_MODEL when none is named, and the heartbeat model for heartbeats", async () => {
      await h.client(sbx.token).chat.completions.create({ messages } as never);
      expect(h.upstream.requests.at(-1)!.json.model).toBe("test/chat-model");
      await h.client(sbx.token).chat.completions.create({ messages } as never, { headers: { "x-concierge-purpose": "heartbeat" } });
      expect(h.upstream.requests.at(-1)!.json.model).toBe("test/cheap-model");
      const [row] = (await usageRows(h, sbx.userId)).slice(-1);
      expect(row).toMatchObject({ model: "test/cheap-model", purpose: "heartbeat" });
    });

    it("allows a model from LLM_ALLOWED_MODELS", async () => {
      await h.client(sbx.token).chat.completions.create({ model: "test/big-model", messages });
      expect(h.upstream.requests.at(-1)!.json.model).toBe("test/big-model");
    });

    it("refuses a model not on the allowlist with 400, without calling the provider", async () => {
      const before = h.upstream.requests.length;
      const err = await apiError(h.client(sbx.token).chat.completions.create({ model: "openai/gpt-5-pro", messages }));
      expect(err.status).toBe(400);
      expect(err.code).toBe("model_not_allowed");
      expect(err.param).toBe("model");
      expect(err.type).toBe("invalid_request_error");
      expect(h.upstream.requests.length).toBe(before);
    });
  });

  it("answers a malformed body in OpenAI's error shape", async () => {
    const res = await h.post("/chat/completions", sbx.token, "application/json", "{not json");
    expect(res.status).toBe(400);
    expect((await res.json() as any).error).toMatchObject({ type: "invalid_request_error", code: "invalid_request" });
  });

  it("counts requests, tokens and cost in Prometheus", async () => {
    const text = await h.metrics.metrics();
    expect(text).toMatch(/concierge_llm_requests_total\{endpoint="chat.completions",status="ok"\} \d+/);
    expect(text).toMatch(/concierge_llm_requests_total\{endpoint="chat.completions",status="unauthorized"\} \d+/);
    expect(text).toMatch(/concierge_llm_requests_total\{endpoint="chat.completions",status="model_not_allowed"\} 1/);
    expect(text).toMatch(/concierge_llm_tokens_total\{model="test\/chat-model",kind="prompt"\} \d+/);
    expect(text).toMatch(/concierge_llm_cost_usd_total\{model="test\/chat-model"\} 0\.\d+/);
  });

  it("never writes the provider key or a sandbox token to its logs", () => {
    const all = h.logs.join("");
    expect(h.logs.length).toBeGreaterThan(0);
    expect(all).not.toContain(PROVIDER_KEY);
    expect(all).not.toContain(sbx.token);
  });
});

describeEachDriver("LLM gateway limits", (driver) => {
  const h = useGatewayHarness(driver, { env: { LLM_RATE_LIMIT_PER_MINUTE: "3" } });

  it("rate-limits each sandbox on its own, with 429 and Retry-After, refilling over the minute", async () => {
    const a = await h.addSandbox("A");
    const b = await h.addSandbox("B");
    for (let i = 0; i < 3; i++) await h.client(a.token).chat.completions.create({ model: "test/chat-model", messages });
    const before = h.upstream.requests.length;
    const err = await apiError(h.client(a.token).chat.completions.create({ model: "test/chat-model", messages }));
    expect(err.status).toBe(429);
    expect(err.code).toBe("rate_limit_exceeded");
    expect(Number(err.headers?.get("retry-after"))).toBe(20);
    expect(h.upstream.requests.length).toBe(before);
    // Another sandbox has its own bucket.
    await h.client(b.token).chat.completions.create({ model: "test/chat-model", messages });
    // 3 a minute refills one every 20 s.
    h.date.advance(20_000);
    await h.client(a.token).chat.completions.create({ model: "test/chat-model", messages });
  });
});

describeEachDriver("LLM gateway without a provider", (driver) => {
  const h = useGatewayHarness(driver, { env: { LLM_BASE_URL: undefined, LLM_API_KEY: undefined, LLM_MODEL: undefined, LLM_HEARTBEAT_MODEL: undefined } });

  it("answers 503 with a clear OpenAI-shaped error when LLM_BASE_URL is unset", async () => {
    const sbx = await h.addSandbox();
    const err = await apiError(h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages }));
    expect(err.status).toBe(503);
    expect(err.code).toBe("llm_not_configured");
    expect(err.message).toContain("LLM_BASE_URL");
    // Still 401 for a stranger: the gateway says nothing about itself before authentication.
    expect((await apiError(h.client("sbx_nobody").chat.completions.create({ model: "m", messages }))).status).toBe(401);
  });
});
