import { FakeOpenAI } from "../../test-support/fake-openai";
import { promptTokens, stablePrefix } from "../../test-support/prompt-tokens";
import { key, startAgent, type Harness } from "./agent-harness";

describe("the LLM path's prompt: small and cacheable", () => {
  let llm: FakeOpenAI;
  let h: Harness;
  beforeEach(async () => {
    llm = await FakeOpenAI.start();
    h = await startAgent({ llm, timezone: "Europe/Berlin", now: "2026-11-21T10:00:00Z", userName: "Sam" });
  });
  afterEach(async () => {
    h.close();
    await llm.close();
  });

  it("keeps the first call of a chat turn at or under 4,000 prompt tokens", async () => {
    llm.script({ text: "Hi Sam!" });
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "hi" });
    const first = promptTokens(llm.requests[0]!.body);
    expect(first.tools).toBeGreaterThan(500);
    expect(first.total).toBeLessThanOrEqual(4000);
    // Every tool is still offered, and the rules the tools rely on are still said.
    expect(llm.requests[0]!.body.tools).toHaveLength(24);
    const system = llm.requests[0]!.body.messages[0]!.content!;
    for (const rule of ["allowConflict", "query_database", "remember", "update_profile", "expenses(id, amount_minor, currency"]) expect(system).toContain(rule);
  });

  it("sends a byte-identical prefix on the next turn, with the time after the history", async () => {
    llm.script({ text: "one" }, { text: "two" });
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "first" });
    h.setNow("2026-11-21T10:07:00Z");
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "second" });
    const [a, b] = llm.requests.map((r) => r.body);
    expect(stablePrefix(b!)).toBe(stablePrefix(a!));
    expect(a!.messages[0]!.content).not.toMatch(/11:00|Current local time/);
    // The second request starts with everything the first one had before its per-turn message.
    expect(b!.messages.slice(0, 1)).toEqual(a!.messages.slice(0, 1));
    expect(b!.messages.map((m) => m.content).slice(1, 3)).toEqual(["first", "one"]);
    expect(b!.messages.at(-2)).toEqual({ role: "system", content: expect.stringContaining("Saturday 21 November 2026, 11:07 (Europe/Berlin)") });
    expect(b!.messages.at(-1)).toEqual({ role: "user", content: "second" });
  });
});
