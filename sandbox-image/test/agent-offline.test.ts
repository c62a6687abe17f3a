import { findAmount } from "../src/brain/understanding/amount";
import { Act } from "../src/brain/understanding/intent";
import { recognise } from "../src/brain/understanding/understand";
import { ToolRegistry } from "../src/tools/registry";
import type { ToolContext } from "../src/tools/tool";
import { alarmEvents, expectReplies, key, say, startAgent, type Harness } from "./agent-harness";

describe("offline brain (no LLM configured)", () => {
  let h: Harness;
  beforeEach(async () => void (h = await startAgent({ timezone: "Asia/Kolkata", now: "2026-11-18T04:30:00Z" })));
  afterEach(() => h.close());

  async function rows(sql: string): Promise<any[]> {
    const r = await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "query_database", arguments: JSON.stringify({ sql }) });
    return JSON.parse(r.output).rows;
  }

  it('"remind me to call mom tomorrow at 5pm" sets a reminder at 17:00 local', async () => {
    expect(await say(h, "remind me to call mom tomorrow at 5pm")).toBe("OK, I'll remind you to call mom on Thu 19 Nov 17:00.");
    expect(await rows("SELECT text, due_at, timezone FROM reminders")).toEqual([{ text: "call mom", due_at: "2026-11-19T11:30:00.000Z", timezone: "Asia/Kolkata" }]);
    expect(alarmEvents(h).at(-1)).toBe("2026-11-19T11:30:00.000Z");
  });

  it("understands recurring and urgent reminders, lists and cancels them", async () => {
    expect(await say(h, "Remind me to take my pills every day at 8am")).toMatch(/take my pills .*\(daily, at 08:00\)/);
    expect(await say(h, "remind me to pay rent on friday at 9, it's urgent")).toMatch(/pay rent on Fri 20 Nov 09:00/);
    expect(await rows("SELECT text, recurrence, urgent FROM reminders ORDER BY id")).toEqual([
      { text: "take my pills", recurrence: "daily", urgent: 0 },
      { text: "pay rent", recurrence: null, urgent: 1 },
    ]);
    const list = await say(h, "list reminders");
    expect(list).toContain("#1 take my pills: Thu 19 Nov 08:00 (daily)");
    expect(await say(h, "cancel reminder 2")).toBe("Cancelled the reminder to pay rent.");
    expect(await say(h, "remind me to breathe")).toMatch(/^When should I remind you/);
  });

  it('"spent 12.50 on lunch" logs an expense; "what did I spend this week" sums it', async () => {
    expect(await say(h, "spent 12.50 on lunch")).toBe("Logged $12.50 on lunch (food).");
    expect(await say(h, "I paid €40 for a taxi yesterday")).toBe("Logged €40.00 on a taxi (transport).");
    expect(await say(h, "spent 300 inr on groceries")).toBe("Logged ₹300.00 on groceries (groceries).");
    expect(await rows("SELECT amount_minor, currency, category, spent_at FROM expenses ORDER BY id")).toEqual([
      { amount_minor: 1250, currency: "USD", category: "food", spent_at: "2026-11-18T04:30:00.000Z" },
      { amount_minor: 4000, currency: "EUR", category: "transport", spent_at: "2026-11-17T06:30:00.000Z" },
      { amount_minor: 30000, currency: "INR", category: "groceries", spent_at: "2026-11-18T04:30:00.000Z" },
    ]);
    const summary = await say(h, "what did I spend this week?");
    expect(summary).toContain("You spent €40.00 this week (transport €40.00).");
    expect(summary).toContain("You spent $12.50 this week (food $12.50).");
    expect(await say(h, "earned 200 from freelance")).toBe("Logged $200.00 of income from freelance.");
    expect(await say(h, "how much did I spend today")).not.toContain("€");
  });

  it('"add task buy milk", "what are my tasks", "done 1"', async () => {
    await expectReplies(h, [
      ["add task buy milk", "Added task #1: buy milk."],
      ["todo: call the plumber", "Added task #2: call the plumber."],
      ["add renew passport to my list", "Added task #3: renew passport."],
      ["what are my tasks", "Your open tasks:\n#1 buy milk\n#2 call the plumber\n#3 renew passport"],
      ["done 1", "Done: buy milk. ✓"],
      ["complete task #2", "Done: call the plumber. ✓"],
      ["task 3 is done", "Done: renew passport. ✓"],
      ["what are my tasks?", "You have no open tasks. Nice!"],
      ["done 9", "There is no task #9."],
    ]);
  });

  it("\"what's on my schedule tomorrow\" lists tomorrow's events in local time", async () => {
    expect(await say(h, "schedule dentist tomorrow at 3pm")).toBe("Added to your schedule: dentist, Thu 19 Nov 15:00-16:00.");
    expect(await say(h, "book lunch with Ana tomorrow at 3:30pm")).toMatch(/overlaps with "dentist" \(Thu 19 Nov 15:00-16:00\)/);
    expect(await say(h, "what's on my schedule tomorrow?")).toBe("Your schedule tomorrow:\nThu 19 Nov 15:00-16:00 dentist");
    expect(await say(h, "what's on my schedule today")).toBe("Nothing on your schedule today.");
  });

  it("logs meals and remembers facts", async () => {
    await expectReplies(h, [
      ["had dal and rice for lunch, 550 kcal", "Logged lunch: dal and rice (550 kcal)."],
      ["log meal oatmeal", "Logged breakfast: oatmeal."],
      ["how many calories today", "2 meals logged today, 550 kcal."],
      ["remember that I am allergic to peanuts", "Got it, I'll remember that."],
      ["what do you know about me", "Here's what I know:\n- I am allergic to peanuts"],
    ]);
  });

  it("says plainly that no LLM is configured for anything else, and what it can do", async () => {
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "Write me a poem about autumn" });
    expect(r.llmCalls).toBe(0);
    expect(r.reply).toMatch(/^I don't have a language model connected right now/);
    expect(r.reply).toContain("remind me to call mom tomorrow at 5pm");
    expect((await h.call("status", {})).llmConfigured).toBe(false);
  });

  it("keeps the conversation in history and replays repeated keys", async () => {
    const k = key();
    const a = await h.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "add task water plants" });
    const b = await h.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "add task water plants" });
    expect(b).toEqual(a);
    expect(await rows("SELECT COUNT(*) AS n FROM tasks")).toEqual([{ n: 1 }]);
    expect(await rows("SELECT role, content FROM conversation_messages ORDER BY id")).toEqual([
      { role: "user", content: "add task water plants" },
      { role: "assistant", content: "Added task #1: water plants." },
    ]);
  });

  it("keeps its data across a restart (same data directory)", async () => {
    await say(h, "add task survive restarts");
    await h.restart();
    expect(await say(h, "what are my tasks")).toBe("Your open tasks:\n#1 survive restarts");
  });
});

describe("offline understanding: which domain a request goes to", () => {
  // Recognising reads only the clock, the zone and the currency; running (elsewhere) needs the database.
  const ctx = { now: () => new Date("2026-11-18T04:30:00Z"), timezone: () => "Asia/Kolkata", currency: () => "USD" } as ToolContext;

  it.each([
    ["remind me to call mom tomorrow at 5pm", "reminders"],
    ["Spent $5 on coffee", "money"],
    ["expense 20 taxi", "money"],
    ["got paid 1500 eur", "money"],
    ["list my tasks", "tasks"],
    ["show my to-do list", "tasks"],
    ["finished 4", "tasks"],
    ["delete task 4", "tasks"],
    ["what are my reminders", "reminders"],
    ["show my calendar this week", "schedule"],
    ["ate a banana", "meals"],
    ["who is Lea", "memory"],
    ["hi", "small_talk"],
    ["what is the meaning of life", null],
  ])("%s → %s", (text, domain) => {
    const act = new Act(new ToolRegistry(), ctx);
    expect(recognise(text, act)?.domain ?? null).toBe(domain);
  });

  it("reads currencies from symbols, codes and words, and never mistakes 'for' for one", () => {
    expect(findAmount("spent 12.50 for lunch")).toMatchObject({ amount: 12.5, currency: undefined });
    expect(findAmount("spent 12,50 eur on lunch")).toMatchObject({ amount: 12.5, currency: "EUR" });
    expect(findAmount("paid 30 pounds for a haircut")).toMatchObject({ amount: 30, currency: "GBP" });
    expect(findAmount("spent ¥800 on ramen")).toMatchObject({ amount: 800, currency: "JPY" });
  });
});
