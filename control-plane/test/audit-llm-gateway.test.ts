import { eq } from "drizzle-orm";
import { APIError, toFile } from "openai";
import { describeEachDriver } from "../../test-support/db";
import { chatCompletion } from "../../test-support/fake-llm-upstream";
import { sandboxes } from "../src/db/schema";
import { spentUsd } from "../src/llm-gateway/usage-store";
import { monthOf } from "../src/llm-gateway/period";
import { MAX_TRANSCRIPTION_BYTES } from "../src/llm-gateway/request-policy";
import { apiError, useGatewayHarness, type TestSandbox } from "./llm-gateway-harness";

const messages = [{ role: "user" as const, content: "Plan my week" }];

describeEachDriver("audit 15.5: the LLM gateway forwards any body field", (driver) => {
  const h = useGatewayHarness(driver, { env: { LLM_MAX_OUTPUT_TOKENS: "1000" } });
  let sbx: TestSandbox;
  beforeAll(async () => {
    sbx = await h.addSandbox();
  });

  it.each([
    ["models", { models: ["anthropic/claude-opus", "openai/gpt-5"] }],
    ["plugins", { plugins: [{ id: "web" }] }],
    ["provider", { provider: { order: ["Elsewhere"] } }],
    ["route", { route: "fallback" }],
    ["store", { store: true }],
  ])("refuses '%s' with a 400 naming it, and the provider sees nothing", async (field, extra) => {
    const before = h.upstream.requests.length;
    const err = await apiError(h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, ...extra } as never));
    expect(err.status).toBe(400);
    expect(err.param).toBe(field);
    expect(err.message).toContain(field);
    expect(h.upstream.requests.length).toBe(before);
  });

  it("refuses more than one choice per call", async () => {
    const before = h.upstream.requests.length;
    const err = await apiError(h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, n: 5 }));
    expect(err.status).toBe(400);
    expect(err.param).toBe("n");
    expect(h.upstream.requests.length).toBe(before);
  });

  it("lowers a huge max_tokens to the cap, and sets the cap when none is asked for", async () => {
    await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, max_tokens: 1_000_000 });
    expect(h.upstream.requests.at(-1)!.json.max_tokens).toBe(1000);
    await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, max_completion_tokens: 200 });
    expect(h.upstream.requests.at(-1)!.json).toMatchObject({ max_completion_tokens: 200 });
    await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages });
    expect(h.upstream.requests.at(-1)!.json.max_tokens).toBe(1000);
  });

  it("forwards an ordinary agent call with its tools, and only allow-listed fields", async () => {
    const tools = [{ type: "function" as const, function: { name: "add_task", parameters: { type: "object", properties: {} } } }];
    await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, tools, tool_choice: "auto", temperature: 0.2 });
    const sent = h.upstream.requests.at(-1)!.json;
    expect(sent).toMatchObject({ model: "test/chat-model", messages, tools, tool_choice: "auto", temperature: 0.2 });
    expect(Object.keys(sent).sort()).toEqual(["max_tokens", "messages", "model", "temperature", "tool_choice", "tools"]);
  });

  it("refuses a transcription upload with a field outside the allow-list", async () => {
    const before = h.upstream.requests.length;
    const file = await toFile(Buffer.from("OggS fake audio"), "note.ogg", { type: "audio/ogg" });
    const err = await apiError(h.client(sbx.token).audio.transcriptions.create({ file, model: "whisper-1", plugins: "web" } as never));
    expect(err.status).toBe(400);
    expect(err.param).toBe("plugins");
    expect(h.upstream.requests.length).toBe(before);
  });

  it("refuses a transcription upload larger than the cap, before the provider sees it", async () => {
    const before = h.upstream.requests.length;
    const file = await toFile(Buffer.alloc(MAX_TRANSCRIPTION_BYTES + 1024), "long.ogg", { type: "audio/ogg" });
    const err = await apiError(h.client(sbx.token).audio.transcriptions.create({ file, model: "whisper-1" }));
    expect(err.status).toBe(413);
    expect(h.upstream.requests.length).toBe(before);
  }, 30_000);
});

// Each default fake completion uses 11 prompt and 7 completion tokens; at 1000/2000 USD per
// million that is 0.025 USD a call.
describeEachDriver("audit 15.10: concurrent calls overspend a nearly empty budget", (driver) => {
  const h = useGatewayHarness(driver, { env: { LLM_MONTHLY_BUDGET_USD: "0.05" } });

  it("lets 20 concurrent calls spend at most what was left plus one call", async () => {
    const ada = await h.addSandbox("Ada");
    await h.client(ada.token).chat.completions.create({ model: "test/chat-model", messages, max_tokens: 7 });
    const forwardedBefore = h.upstream.requests.length;
    // Every answer takes a while, so all 20 are in flight together.
    for (let i = 0; i < 20; i++) h.upstream.enqueue({ kind: "json", body: chatCompletion("ok"), delayMs: 300 });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => h.client(ada.token).chat.completions.create({ model: "test/chat-model", messages, max_tokens: 7 })),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter((r) => r.status === "rejected" && r.reason instanceof APIError && r.reason.status === 402).length;
    expect(ok + refused).toBe(20);
    // 0.025 was left: the first call's reservation takes it (the estimate is a token short of the
    // real prompt, so a sliver is left for at most one more).
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(ok).toBeLessThanOrEqual(2);
    expect(h.upstream.requests.length - forwardedBefore).toBe(ok);
    const spent = await spentUsd(h.t.database.db, ada.userId, monthOf(h.date.now()));
    expect(spent).toBeLessThanOrEqual(0.05 + 0.025 + 1e-9);
    // Nothing stays reserved once the calls are settled: a budget raise admits the next call at once.
    const res = await h.admin(`/sandbox/users/${ada.userId}/budget`, { method: "PUT", body: JSON.stringify({ monthlyUsd: 1 }) });
    expect(res.status).toBe(200);
    await h.client(ada.token).chat.completions.create({ model: "test/chat-model", messages, max_tokens: 7 });
  }, 60_000);
});

describeEachDriver("audit 15.12: a stopped sandbox's token still works at the gateway", (driver) => {
  const h = useGatewayHarness(driver);

  it.each(["stopped", "stopping", "provisioning", "error"] as const)("refuses the token of a %s sandbox with 401", async (state) => {
    const sbx = await h.addSandbox();
    await h.t.database.db.update(sandboxes).set({ state }).where(eq(sandboxes.id, sbx.sandboxId));
    const before = h.upstream.requests.length;
    const err = await apiError(h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages }));
    expect(err.status).toBe(401);
    expect(h.upstream.requests.length).toBe(before);
  });
});
