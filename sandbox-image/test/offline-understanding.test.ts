import { join } from "node:path";
import pino from "pino";
import { FakeOpenAI } from "../../test-support/fake-openai";
import { OfflineBrain } from "../src/brain/offline-brain";
import { openDatabase } from "../src/db/open-database";
import { ALL_TOOLS, ToolRegistry } from "../src/tools/registry";
import type { ToolContext } from "../src/tools/tool";
import { key, say, startAgent, withTempDir, type Harness } from "./agent-harness";

async function rows(h: Harness, sql: string): Promise<Record<string, unknown>[]> {
  const r = await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "query_database", arguments: JSON.stringify({ sql }) });
  return JSON.parse(r.output).rows;
}

const DAYS = /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*|\btoday\b|\btomorrow\b/g;

describe("the issue's examples, offline (no model)", () => {
  let h: Harness;
  // Saturday 21 November 2026, 10:00 in Berlin.
  beforeEach(async () => void (h = await startAgent({ timezone: "Europe/Berlin", now: "2026-11-21T09:00:00Z" })));
  afterEach(() => h.close());

  it('"Hi, I\'m Sam - remind me to water the plants tonight at 8" sets the reminder and remembers the name', async () => {
    const reply = await say(h, "Hi, I'm Sam - remind me to water the plants tonight at 8");
    expect(reply).toBe("Nice to meet you, Sam!\nOK, I'll remind you to water the plants on Sat 21 Nov 20:00.");
    expect(await rows(h, "SELECT text, due_at, status FROM reminders")).toEqual([{ text: "water the plants", due_at: "2026-11-21T19:00:00.000Z", status: "pending" }]);
    expect(await rows(h, "SELECT name FROM profile")).toEqual([{ name: "Sam" }]);
  });

  it('"lunch was 9,80 €" logs 9.80 EUR of food, and "€9.80", "12.50 EUR", "$5", "1.234,56 €" read right too', async () => {
    expect(await say(h, "lunch was 9,80 €")).toBe("Logged €9.80 on lunch (food).");
    await say(h, "€9.80 coffee");
    await say(h, "taxi 12.50 EUR");
    await say(h, "$5 for a sandwich");
    await say(h, "rent 1.234,56 €");
    expect(await rows(h, "SELECT amount_minor, currency, category, description FROM expenses ORDER BY id")).toEqual([
      { amount_minor: 980, currency: "EUR", category: "food", description: "lunch" },
      { amount_minor: 980, currency: "EUR", category: "food", description: "coffee" },
      { amount_minor: 1250, currency: "EUR", category: "transport", description: "taxi" },
      { amount_minor: 500, currency: "USD", category: "food", description: "a sandwich" },
      { amount_minor: 123456, currency: "EUR", category: "housing", description: "rent" },
    ]);
  });

  it('"coffee with Lea on tuesday 10 to 11am" books 10:00-11:00 on Tuesday, and warns about a conflict', async () => {
    expect(await say(h, "coffee with Lea on tuesday 10 to 11am")).toBe("Added to your schedule: coffee with Lea, Tue 24 Nov 10:00-11:00.");
    expect(await rows(h, "SELECT title, starts_at, ends_at FROM schedule_events")).toEqual([{ title: "coffee with Lea", starts_at: "2026-11-24T09:00:00.000Z", ends_at: "2026-11-24T10:00:00.000Z" }]);
    const clash = await say(h, "call with Bob on tuesday 10:30 to 11:30");
    expect(clash).toMatch(/^That overlaps with "coffee with Lea" \(Tue 24 Nov 10:00-11:00\)\. Should I book it anyway\?/);
    expect(await rows(h, "SELECT COUNT(*) AS n FROM schedule_events")).toEqual([{ n: 1 }]);
  });

  it('"what\'s happening on wednesday?" answers for Wednesday and names no other day', async () => {
    expect(await say(h, "what's happening on wednesday?")).toBe("Nothing on your schedule on Wednesday 25 Nov.");
    await say(h, "schedule team lunch on wednesday at 12:30");
    await say(h, "schedule dentist today at 4pm");
    const reply = await say(h, "what's happening on wednesday?");
    expect(reply).toBe("Your schedule on Wednesday 25 Nov:\nWed 25 Nov 12:30-13:30 team lunch");
    expect(new Set(reply.match(DAYS))).toEqual(new Set(["Wednesday", "Wed"]));
  });

  it('"who are you?" and "thanks" get short answers, not the help text', async () => {
    const who = await say(h, "who are you?");
    expect(who).toMatch(/^I'm your personal assistant/);
    expect(who).not.toMatch(/Try:/);
    expect(await say(h, "thanks")).toBe("You're welcome!");
    expect(await say(h, "what can you do?")).toMatch(/reminders, tasks, schedule/);
  });

  it("does every request in a message, and says which one it did not understand", async () => {
    const reply = await say(h, "add task buy milk. Also sing me a song about the sea");
    expect(reply).toBe('Added task #1: buy milk.\nI didn\'t understand "sing me a song about the sea"; try something like "remind me to call mom tomorrow at 5pm".');
    expect(await rows(h, "SELECT title FROM tasks")).toEqual([{ title: "buy milk" }]);
  });

  it("says briefly when it does not understand, and suggests the closest thing it can do", async () => {
    const reply = await say(h, "can you convert 20 dollars to yen?");
    expect(reply).toMatch(/^I don't have a language model connected right now, so I can't do that one\. The closest I can do is something like "spent 12\.50 on lunch"/);
    expect(reply.length).toBeLessThan(200);
    expect(await rows(h, "SELECT COUNT(*) AS n FROM expenses")).toEqual([{ n: 0 }]);
  });

  it("lists and cancels reminders, and completes tasks, by name", async () => {
    await say(h, "remind me to call the dentist on monday at 10");
    await say(h, "remind me to buy flowers tomorrow at 9");
    await say(h, "add task renew passport");
    expect(await say(h, "cancel the dentist reminder")).toBe("Cancelled the reminder to call the dentist.");
    expect(await say(h, "the passport is done")).toBe("Done: renew passport. ✓");
    expect(await rows(h, "SELECT text, status FROM reminders ORDER BY id")).toEqual([
      { text: "call the dentist", status: "cancelled" },
      { text: "buy flowers", status: "pending" },
    ]);
    expect(await rows(h, "SELECT status FROM tasks")).toEqual([{ status: "done" }]);
  });
});

describe("offline and model paths write the same rows", () => {
  it("through the same tool: an expense said offline equals the one the model logs", async () => {
    const offline = await startAgent({ timezone: "Europe/Berlin", now: "2026-11-21T09:00:00Z" });
    const llm = await FakeOpenAI.start();
    const online = await startAgent({ llm, timezone: "Europe/Berlin", now: "2026-11-21T09:00:00Z" });
    try {
      await say(offline, "lunch was 9,80 €");
      llm.script({ toolCalls: [{ name: "log_expense", arguments: { amount: 9.8, currency: "EUR", category: "food", description: "lunch" } }] }, { text: "Logged." });
      await say(online, "lunch was 9,80 €");
      const sql = "SELECT amount_minor, currency, category, description, spent_at, created_at FROM expenses";
      expect(await rows(online, sql)).toEqual(await rows(offline, sql));
      expect(await rows(offline, sql)).toHaveLength(1);
    } finally {
      offline.close();
      online.close();
      await llm.close();
    }
  });
});

describe("offline understanding over a filtered tool registry", () => {
  it("uses only the tools it is given, and says kindly what it cannot do", async () => {
    await withTempDir("offline-filtered-", (dir) => {
      const db = openDatabase(join(dir, "agent.db"));
      try {
        const ctx: ToolContext = {
          db,
          readonlyDb: db,
          now: () => new Date("2026-11-21T09:00:00Z"),
          timezone: () => "Europe/Berlin",
          currency: () => "EUR",
          log: pino({ level: "silent" }),
          emit: () => undefined,
          remindersChanged: () => undefined,
        };
        const brain = new OfflineBrain(new ToolRegistry(ALL_TOOLS.filter((t) => t.name !== "log_expense")), ctx);
        expect(brain.reply("lunch was 9,80 € and add task buy milk")).toBe("That isn't something I can do from here.\nAdded task #1: buy milk.");
        expect(db.prepare("SELECT COUNT(*) AS n FROM expenses").get()).toEqual({ n: 0 });
        expect(db.prepare("SELECT title FROM tasks").all()).toEqual([{ title: "buy milk" }]);
      } finally {
        db.close();
      }
    });
  });
});
