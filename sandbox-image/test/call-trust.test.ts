import { FakeOpenAI } from "../../test-support/fake-openai";
import { LIMITED_CALL_TOOLS } from "../src/calls/call-trust";
import { key, say, startAgent, type Harness } from "./agent-harness";

const now = "2026-11-18T09:00:00Z";
const tool = async (h: Harness, trust: "full" | "limited", name: string, args: Record<string, unknown>) =>
  JSON.parse((await h.call("tool.call", { trust, idempotencyKey: key(name), name, arguments: JSON.stringify(args) })).output);

describe("audit 15.3: callers are identified by caller ID alone (the agent's side)", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startAgent({ userName: "Sam", now });
    // What a spoofed caller must not get at: tasks, money, a contact, a memory fact.
    await tool(h, "full", "add_task", { title: "renew passport" });
    await tool(h, "full", "log_expense", { amount: 1234, description: "rent" });
    await tool(h, "full", "add_contact", { name: "Dr Lee", phone: "+4930123456" });
    await tool(h, "full", "remember", { fact: "Bank PIN hint is the dog's birthday" });
  });
  afterEach(() => h.close());

  it("lists only the tools that reveal nothing to a limited caller, with a prompt that holds nothing of the user", async () => {
    const limited = await h.call("tools.list", { trust: "limited" });
    expect(limited.tools.map((t) => t.name).sort()).toEqual([...LIMITED_CALL_TOOLS].sort());
    expect(limited.instructions).not.toMatch(/Sam|dog's birthday|passport/);
    const full = await h.call("tools.list", { trust: "full" });
    expect(full.tools.map((t) => t.name)).toEqual(expect.arrayContaining(["spending_summary", "find_contact", "recall", "update_profile", "query_database"]));
    expect(full.instructions).toMatch(/dog's birthday/);
  });

  it("refuses money, contacts, memory, profile and SQL tools to a limited caller, and defaults to limited", async () => {
    for (const name of ["spending_summary", "log_expense", "find_contact", "recall", "remember", "update_profile", "query_database", "list_tasks"]) {
      await expect(h.call("tool.call", { trust: "limited", idempotencyKey: key(name), name, arguments: "{}" })).rejects.toMatchObject({ code: "not_found" });
      await expect(h.call("tool.call", { idempotencyKey: key(name), name, arguments: "{}" })).rejects.toMatchObject({ code: "not_found" });
    }
    expect((await tool(h, "limited", "add_task", { title: "call back the plumber" })).task.title).toBe("call back the plumber");
  });

  it("does not read back personal data in a limited call turn, nor greet by name (offline brain)", async () => {
    const greet = await h.call("call.turn", { trust: "limited", idempotencyKey: key(), callSid: "CA-spoof", phase: "start" });
    expect(greet.reply).not.toMatch(/Sam/);
    for (const ask of ["what are my tasks", "what did I spend this week", "find contact Dr Lee"]) {
      const r = await h.call("call.turn", { trust: "limited", idempotencyKey: key(), callSid: "CA-spoof", phase: "turn", text: ask });
      expect(r.reply).not.toMatch(/passport|1234|rent|4930123456/);
    }
    // Absent trust is limited too.
    const r = await h.call("call.turn", { idempotencyKey: key(), callSid: "CA-spoof", phase: "turn", text: "what are my tasks" });
    expect(r.reply).not.toMatch(/passport/);
    // The same question with full trust does answer: the filter, not a broken tool, kept it out.
    const full = await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA-real", phase: "turn", text: "what are my tasks" });
    expect(full.reply).toMatch(/passport/);
  });

  it("gives the model of a limited call only the limited tools and none of the user's history", async () => {
    const llm = await FakeOpenAI.start();
    const g = await startAgent({ llm, userName: "Sam", now });
    try {
      llm.script({ text: "Noted." }, { text: "Sure." });
      await say(g, "my daughter Zoe's school is Hillside", "whatsapp");
      await g.call("call.turn", { trust: "limited", idempotencyKey: key(), callSid: "CA-x", phase: "turn", text: "where does Zoe go to school?" });
      const body = llm.requests[llm.requests.length - 1]!.body;
      expect((body.tools ?? []).map((t: { function: { name: string } }) => t.function.name).sort()).toEqual([...LIMITED_CALL_TOOLS].sort());
      expect(JSON.stringify(body.messages)).not.toMatch(/Hillside|Sam/);
    } finally {
      g.close();
      await llm.close();
    }
  });
});
