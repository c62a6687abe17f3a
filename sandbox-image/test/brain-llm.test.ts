import { createServer } from "node:net";
import { FakeOpenAI } from "../../test-support/fake-openai";
import { key, startAgent, type Harness } from "./agent-harness";

function toolMessages(f: FakeOpenAI, i: number): { role: string; content?: string | null; tool_call_id?: string }[] {
  return f.requests[i]!.body.messages.filter((m) => m.role === "tool");
}

describe("LLM brain against an OpenAI-compatible server", () => {
  let llm: FakeOpenAI;
  let h: Harness;
  beforeEach(async () => {
    llm = await FakeOpenAI.start();
    h = await startAgent({ llm, timezone: "Asia/Kolkata", now: "2026-11-21T10:00:00Z" });
  });
  afterEach(async () => {
    h.close();
    await llm.close();
  });

  it("runs a scripted tool call and answers with the model's words, authenticated by the sandbox token", async () => {
    llm.script({ toolCalls: [{ name: "add_task", arguments: { title: "buy milk" } }] }, { text: "Added *buy milk* to your tasks." });
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "add buy milk to my list" });
    expect(r).toEqual({ reply: "Added *buy milk* to your tasks.", llmCalls: 2 });
    expect(llm.requests.map((q) => q.authorization)).toEqual(["Bearer sandbox-token-123", "Bearer sandbox-token-123"]);
    expect(llm.requests.map((q) => q.purpose)).toEqual(["chat", "chat"]);
    const first = llm.requests[0]!.body;
    expect(first).toMatchObject({ model: "test-model", stream: true });
    expect(first.tools!.map((t) => t.function.name)).toContain("add_task");
    expect(first.messages[0]!.role).toBe("system");
    expect(first.messages[0]!.content).toContain("# Soul");
    const toolResult = JSON.parse(toolMessages(llm, 1)[0]!.content!);
    expect(toolResult.task).toMatchObject({ title: "buy milk", status: "open" });
    const tasks = await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "list_tasks", arguments: "{}" });
    expect(JSON.parse(tasks.output).tasks).toHaveLength(1);
  });

  it("accumulates streamed tool-call argument fragments for parallel calls", async () => {
    llm.script(
      {
        fragments: 7,
        toolCalls: [
          { name: "set_reminder", arguments: { text: "call mom", when: "tomorrow at 17:00" } },
          { name: "log_expense", arguments: { amount: 12.5, currency: "INR", category: "food", description: "chai and samosa" } },
        ],
      },
      { text: "Reminder set for 5pm tomorrow, and I logged ₹12.50." },
    );
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "remind me to call mom tomorrow at 5pm, and I spent 12.50 on chai" });
    expect(r.llmCalls).toBe(2);
    const results = toolMessages(llm, 1).map((m) => JSON.parse(m.content!));
    expect(results[0].reminder.due_at).toBe("2026-11-22T11:30:00.000Z");
    expect(results[1].expense).toMatchObject({ amountMinor: 1250, currency: "INR" });
    expect(h.events.filter((e) => e.event === "alarm.set").at(-1)!.payload).toEqual({ at: "2026-11-22T11:30:00.000Z" });
  });

  it("hands tool errors back to the model so it can recover", async () => {
    llm.script({ toolCalls: [{ name: "complete_task", arguments: { id: 42 } }] }, { text: "I couldn't find task 42." });
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "done 42" });
    expect(r.reply).toBe("I couldn't find task 42.");
    expect(JSON.parse(toolMessages(llm, 1)[0]!.content!)).toEqual({ error: "There is no task #42." });
  });

  it("stops at the iteration cap and forces a worded answer on the last round", async () => {
    llm.fallback = { toolCalls: [{ name: "list_tasks", arguments: {} }], text: "Still looking." };
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "loop forever" });
    expect(r.llmCalls).toBe(8);
    expect(llm.requests.at(-1)!.body.tool_choice).toBe("none");
    expect(r.reply).toBe("Still looking.");
  });

  it("replays a repeated idempotency key without calling the model again", async () => {
    llm.script({ text: "First answer." });
    const k = key("dup");
    const a = await h.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "hello" });
    const b = await h.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "hello" });
    expect(a).toEqual({ reply: "First answer.", llmCalls: 1 });
    expect(b).toEqual(a);
    expect(llm.calls).toBe(1);
  });

  it("runs concurrent turns one at a time, and a concurrent duplicate only once", async () => {
    llm.script({ text: "one", delayMs: 150 }, { text: "two", delayMs: 150 }, { text: "three" });
    const k = key("same");
    const [r1, r2, r3] = await Promise.all([
      h.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "first" }),
      h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "second" }),
      h.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "first" }),
    ]);
    expect(llm.maxConcurrent).toBe(1);
    expect(llm.calls).toBe(2);
    expect([r1.reply, r2.reply, r3.reply]).toEqual(["one", "two", "one"]);
    // The second turn saw the first in its history.
    expect(llm.requests[1]!.body.messages.map((m) => m.content)).toEqual(expect.arrayContaining(["first", "one", "second"]));
  });

  it.each([
    [429, /a lot of requests/, "rate_limited"],
    [402, /thinking budget/, "budget_exhausted"],
  ])("turns a %i into a short kind reply and a warning, never a stack trace", async (status, reply, kind) => {
    llm.script({ status, message: "upstream says no" });
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "what's up" });
    expect(r.reply).toMatch(reply);
    expect(r.reply).not.toMatch(/Error|at .*\.ts|upstream says no|\d{3}/);
    expect(r.llmCalls).toBe(1);
    expect(h.logs.find((l) => l.level === 40 && l.kind === kind)).toBeDefined();
  });

  it("still does simple things offline while the month's budget is spent: the expense is logged", async () => {
    llm.script({ status: 402, message: "budget" });
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "spent 12.50 on lunch" });
    expect(r.reply).toMatch(/thinking budget/);
    expect(r.reply).toMatch(/12\.50/);
    const rows = await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "query_database", arguments: JSON.stringify({ sql: "SELECT amount_minor FROM expenses" }) });
    expect(JSON.parse(rows.output).rows).toEqual([{ amount_minor: 1250 }]);
  });

  it.each([500, 503])("refuses the turn with a retryable error on a %i, kept for no replay (audit 15.7)", async (status) => {
    llm.script({ status, message: "upstream says no" });
    const err = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "what's up" }).catch((e) => e);
    expect(err).toMatchObject({ name: "AgentError", code: "busy", retryable: true });
    expect(err.message).not.toMatch(/upstream says no/);
    expect(h.logs.find((l) => l.level === 40 && l.kind === "provider_down")).toBeDefined();
  });

  it("streams visible text as chat.delta events on the console channel", async () => {
    llm.script({ text: "Streaming words to you now." });
    const k = key("stream");
    await h.call("chat.send", { idempotencyKey: k, channel: "console", text: "hi" });
    const deltas = h.events.filter((e) => e.event === "chat.delta").map((e) => e.payload as { requestId: string; text: string });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((d) => d.requestId === k)).toBe(true);
    expect(deltas.map((d) => d.text).join("")).toBe("Streaming words to you now.");
  });

  it("folds long history into a running summary and sends the summary instead", async () => {
    const long = (c: string) => c.repeat(7000);
    llm.script({ text: "ok a" }, { text: "ok b" }, { text: "ok c" }, { text: "SUMMARY: user sent three long notes." }, { text: "ok d" });
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: long("a") });
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: long("b") });
    const third = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: long("c") });
    expect(third.llmCalls).toBe(2);
    expect(llm.requests[3]!.body.messages[1]!.content).toContain("aaaa");
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "and now?" });
    const last = llm.requests[4]!.body.messages;
    expect(last[0]!.content).toContain("SUMMARY: user sent three long notes.");
    expect(last.some((m) => m.content?.startsWith("aaaa"))).toBe(false);
  });
});

describe("LLM brain when the provider is slow or gone", () => {
  it("answers kindly when a turn times out", async () => {
    const llm = await FakeOpenAI.start();
    const h = await startAgent({ llm, timeoutMs: 300 });
    try {
      llm.script({ hang: true });
      const started = Date.now();
      const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "hello?" });
      expect(r.reply).toMatch(/took me too long/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      h.close();
      await llm.close();
    }
  });

  it("refuses the turn, retryably, when the gateway refuses connections", async () => {
    // A port that was just free on loopback: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const h = await startAgent({ llm: { baseURL: `http://127.0.0.1:${port}/v1` } as FakeOpenAI });
    try {
      const err = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "hello?" }).catch((e) => e);
      expect(err).toMatchObject({ name: "AgentError", code: "busy", retryable: true });
      expect(h.logs.find((l) => l.level === 40 && l.kind === "unreachable")).toBeDefined();
    } finally {
      h.close();
    }
  });
});
