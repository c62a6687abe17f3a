import { key, startAgent, type Harness } from "./agent-harness";

async function tool(h: Harness, name: string, args: Record<string, unknown>): Promise<any> {
  const r = await h.call("tool.call", { trust: "full", idempotencyKey: key(name), name, arguments: JSON.stringify(args) });
  return JSON.parse(r.output);
}

describe("record-keeping tools", () => {
  let h: Harness;
  beforeEach(async () => void (h = await startAgent({ timezone: "Europe/Berlin", now: "2026-11-18T10:00:00Z" })));
  afterEach(() => h.close());

  it("adds, lists, completes and deletes tasks", async () => {
    const milk = await tool(h, "add_task", { title: "buy milk" });
    const report = await tool(h, "add_task", { title: "send report", due: "friday 17:00" });
    expect(report.task.due_at).toBe("2026-11-20T16:00:00.000Z");
    expect((await tool(h, "list_tasks", {})).tasks.map((t: { title: string }) => t.title)).toEqual(["send report", "buy milk"]);
    expect((await tool(h, "complete_task", { id: milk.task.id })).task.status).toBe("done");
    expect((await tool(h, "complete_task", { id: milk.task.id })).alreadyDone).toBe(true);
    expect((await tool(h, "list_tasks", { status: "done" })).tasks).toHaveLength(1);
    await tool(h, "delete_task", { id: report.task.id });
    expect((await tool(h, "list_tasks", { status: "all" })).tasks).toHaveLength(1);
    expect((await tool(h, "delete_task", { id: report.task.id })).error).toMatch(/no task/);
  });

  it("logs expenses and income in minor units per currency and summarises by period", async () => {
    await tool(h, "update_profile", { currency: "EUR" });
    await tool(h, "log_expense", { amount: 12.5, category: "food", description: "lunch" });
    await tool(h, "log_expense", { amount: 0.1 + 0.2, category: "food", description: "gum" });
    await tool(h, "log_expense", { amount: 1500, currency: "jpy", category: "transport" });
    await tool(h, "log_expense", { amount: 40, category: "transport", date: "2026-11-10T12:00" });
    await tool(h, "log_income", { amount: 200, source: "freelance" });
    const rows = (await tool(h, "query_database", { sql: "SELECT amount_minor, currency FROM expenses ORDER BY id" })).rows;
    expect(rows).toEqual([
      { amount_minor: 1250, currency: "EUR" },
      { amount_minor: 30, currency: "EUR" },
      { amount_minor: 1500, currency: "JPY" },
      { amount_minor: 4000, currency: "EUR" },
    ]);
    const week = await tool(h, "spending_summary", { period: "this_week" });
    expect(week.currencies).toEqual([
      expect.objectContaining({ currency: "EUR", spentMinor: 1280, earnedMinor: 20000, byCategory: [expect.objectContaining({ category: "food", minor: 1280 })] }),
      expect.objectContaining({ currency: "JPY", spentMinor: 1500 }),
    ]);
    const month = await tool(h, "spending_summary", { period: "this_month" });
    expect(month.currencies[0].spentMinor).toBe(5280);
    expect((await tool(h, "log_expense", { amount: -3 })).error).toMatch(/Invalid arguments/);
  });

  it("logs meals, infers the meal type from the local hour, and sums nutrition against goals", async () => {
    // 10:00Z is 11:00 in Berlin: lunch by the clock.
    const m = await tool(h, "log_meal", { description: "salad", calories: 450, proteinG: 20 });
    expect(m.meal.mealType).toBe("lunch");
    await tool(h, "log_meal", { description: "oats", mealType: "breakfast", calories: 300, proteinG: 10, when: "today at 7:30" });
    await tool(h, "set_nutrition_goal", { nutrient: "protein_g", dailyTarget: 100 });
    const s = await tool(h, "nutrition_summary", { period: "today" });
    expect(s.meals).toBe(2);
    expect(s.totals).toMatchObject({ calories: 750, proteinG: 30 });
    expect(s.goals).toEqual([{ nutrient: "protein_g", dailyTarget: 100, periodTarget: 100, actual: 30 }]);
  });

  it("adds and finds contacts, treating % and _ in the query literally", async () => {
    await tool(h, "add_contact", { name: "Maria Lopez", phone: "+34 600 000 000", relationship: "sister" });
    await tool(h, "add_contact", { name: "Dr. Kim", notes: "dentist, 100% reliable" });
    expect((await tool(h, "find_contact", { query: "sister" })).contacts.map((c: { name: string }) => c.name)).toEqual(["Maria Lopez"]);
    expect((await tool(h, "find_contact", { query: "100%" })).contacts.map((c: { name: string }) => c.name)).toEqual(["Dr. Kim"]);
    expect((await tool(h, "find_contact", { query: "_" })).contacts).toEqual([]);
  });

  it("remembers facts once, recalls and forgets them, and injects them into the prompt", async () => {
    const a = await tool(h, "remember", { fact: "Is vegetarian", category: "diet" });
    expect((await tool(h, "remember", { fact: "is vegetarian" })).memory.alreadyKnown).toBe(true);
    await tool(h, "remember", { fact: "Daughter is called Zoe" });
    expect((await tool(h, "recall", { query: "zoe" })).facts).toHaveLength(1);
    const { instructions } = await h.call("tools.list", { trust: "full" });
    expect(instructions).toContain("- Daughter is called Zoe");
    expect(instructions).toContain("- Is vegetarian");
    await tool(h, "forget", { id: a.memory.id });
    expect((await tool(h, "recall", {})).facts.map((f: { fact: string }) => f.fact)).toEqual(["Daughter is called Zoe"]);
  });

  it("updates the profile, emits profile.updated, and new times use the new timezone", async () => {
    const out = await tool(h, "update_profile", { name: "Sam", timezone: "Asia/Kolkata", activeHours: { start: "08:00", end: "22:00" }, email: "sam@example.com" });
    expect(out.profile).toMatchObject({ name: "Sam", timezone: "Asia/Kolkata", activeStart: "08:00", activeEnd: "22:00" });
    expect(h.events.find((e) => e.event === "profile.updated")?.payload).toEqual({
      name: "Sam",
      timezone: "Asia/Kolkata",
      activeHours: { start: "08:00", end: "22:00" },
      email: "sam@example.com",
    });
    expect((await h.call("status", {})).timezone).toBe("Asia/Kolkata");
    expect((await tool(h, "set_reminder", { text: "x", when: "tomorrow at 17:00" })).reminder.due_at).toBe("2026-11-19T11:30:00.000Z");
    expect((await tool(h, "update_profile", { timezone: "Mars/Olympus" })).error).toMatch(/not a timezone/);
    expect((await tool(h, "update_profile", { activeHours: { start: "8", end: "22:00" } })).error).toMatch(/Invalid arguments/);
  });

  it("answers read-only SQL and refuses writes, multiple statements and pragmas", async () => {
    await tool(h, "add_task", { title: "a" });
    expect((await tool(h, "query_database", { sql: "SELECT COUNT(*) AS n FROM tasks;" })).rows).toEqual([{ n: 1 }]);
    expect((await tool(h, "query_database", { sql: "WITH t AS (SELECT title FROM tasks) SELECT * FROM t" })).rows).toEqual([{ title: "a" }]);
    for (const sql of [
      "DELETE FROM tasks",
      "UPDATE tasks SET title = 'x'",
      "SELECT 1; DELETE FROM tasks",
      "PRAGMA journal_mode = DELETE",
      "WITH x AS (SELECT 1) DELETE FROM tasks",
      "ATTACH DATABASE '/tmp/evil.db' AS evil",
    ]) {
      expect((await tool(h, "query_database", { sql })).error).toBeDefined();
    }
    expect((await tool(h, "list_tasks", {})).tasks).toHaveLength(1);
    expect((await tool(h, "query_database", { sql: "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r" })).error).toMatch(/Recursive/);
    for (let i = 0; i < 15; i++) await tool(h, "add_task", { title: `t${i}` });
    const big = await tool(h, "query_database", { sql: "SELECT a.id, b.id FROM tasks a, tasks b" });
    expect(big).toMatchObject({ rowCount: 200, truncated: true });
  });

  it("describes every tool with a JSON schema, and refuses unknown tools and bad JSON", async () => {
    const { tools } = await h.call("tools.list", { trust: "full" });
    const names = tools.map((t) => t.name);
    for (const n of ["add_task", "list_tasks", "complete_task", "delete_task", "set_reminder", "list_reminders", "cancel_reminder", "add_event", "list_events", "move_event", "log_meal", "log_expense", "log_income", "spending_summary", "nutrition_summary", "add_contact", "find_contact", "remember", "recall", "update_profile", "query_database"]) {
      expect(names).toContain(n);
    }
    const setReminder = tools.find((t) => t.name === "set_reminder")!;
    expect(setReminder.parameters).toMatchObject({ type: "object", required: ["text", "when"] });
    await expect(h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "rm_rf", arguments: "{}" })).rejects.toMatchObject({ code: "not_found" });
    expect(JSON.parse((await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "add_task", arguments: "{nope" })).output).error).toMatch(/not valid JSON/);
  });

  it("replays a repeated tool.call key without running the tool twice", async () => {
    const k = key("tc");
    const first = await h.call("tool.call", { trust: "full", idempotencyKey: k, name: "add_task", arguments: JSON.stringify({ title: "once" }) });
    const again = await h.call("tool.call", { trust: "full", idempotencyKey: k, name: "add_task", arguments: JSON.stringify({ title: "once" }) });
    expect(again).toEqual(first);
    expect((await tool(h, "list_tasks", {})).tasks).toHaveLength(1);
    await expect(h.call("alarm.fire", { idempotencyKey: k })).rejects.toMatchObject({ code: "bad_request" });
  });
});
