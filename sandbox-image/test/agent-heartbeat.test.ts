import { FakeOpenAI } from "../../test-support/fake-openai";
import { parseChecklist } from "../src/heartbeat/checklist";
import { alarmEvents, key, startAgent, type Harness } from "./agent-harness";

// Europe/Berlin in November is UTC+1: local 08:15 is 07:15Z.
const local = (hhmm: string, day = "2026-11-18") => new Date(`${day}T${hhmm}:00+01:00`).toISOString();

async function tool(h: Harness, name: string, args: Record<string, unknown>): Promise<any> {
  const r = await h.call("tool.call", { trust: "full", idempotencyKey: key(name), name, arguments: JSON.stringify(args) });
  return JSON.parse(r.output);
}

describe("heartbeat with an LLM configured", () => {
  let llm: FakeOpenAI;
  let h: Harness;
  beforeEach(async () => {
    llm = await FakeOpenAI.start();
    h = await startAgent({ llm, timezone: "Europe/Berlin", now: local("07:00") });
  });
  afterEach(async () => {
    h.close();
    await llm.close();
  });

  it("makes zero LLM calls when nothing is due, and says when something next could be", async () => {
    const r = await h.call("heartbeat.run", { idempotencyKey: key(), now: local("10:30") });
    expect(r).toEqual({ send: false, due: [], llmCalls: 0, tokens: 0, nextDueAt: local("14:00") });
    expect(llm.calls).toBe(0);
  });

  it("writes the morning brief with one call to the heartbeat model, once a day", async () => {
    await tool(h, "add_event", { title: "Dentist", start: "2026-11-18T15:00" });
    await tool(h, "add_task", { title: "send invoice" });
    llm.script({ text: "Morning! Dentist at 15:00, and the invoice is waiting.", tokens: 42 });
    const r = await h.call("heartbeat.run", { idempotencyKey: key(), now: local("08:15") });
    expect(r).toMatchObject({ send: true, text: "Morning! Dentist at 15:00, and the invoice is waiting.", due: ["morning-brief"], llmCalls: 1, tokens: 42 });
    expect(llm.requests[0]!.body.model).toBe("cheap-model");
    expect(llm.requests[0]!.purpose).toBe("heartbeat");
    expect(llm.requests[0]!.body.tools).toBeUndefined();
    const prompt = llm.requests[0]!.body.messages.map((m) => m.content).join("\n");
    expect(prompt).toContain("Events today: 15:00 Dentist");
    expect(prompt).toContain("Open tasks: send invoice");
    expect(prompt).toContain("# Heartbeat checklist");

    const again = await h.call("heartbeat.run", { idempotencyKey: key(), now: local("08:45") });
    expect(again).toMatchObject({ send: false, llmCalls: 0 });
    expect(llm.calls).toBe(1);

    llm.script({ text: "Good morning again." });
    const tomorrow = await h.call("heartbeat.run", { idempotencyKey: key(), now: local("08:05", "2026-11-19") });
    expect(tomorrow).toMatchObject({ send: true, due: ["morning-brief"] });
  });

  it("replays a repeated heartbeat key without calling the model again", async () => {
    await tool(h, "add_task", { title: "send invoice" });
    llm.script({ text: "Morning!" });
    const k = key("hb");
    const a = await h.call("heartbeat.run", { idempotencyKey: k, now: local("08:15") });
    const b = await h.call("heartbeat.run", { idempotencyKey: k, now: local("08:15") });
    expect(b).toEqual(a);
    expect(llm.calls).toBe(1);
  });

  it("stays silent when the model judges nothing worth sending", async () => {
    await tool(h, "add_task", { title: "send invoice" });
    llm.script({ text: "HEARTBEAT_OK" });
    const r = await h.call("heartbeat.run", { idempotencyKey: key(), now: local("08:15") });
    expect(r).toMatchObject({ send: false, llmCalls: 1 });
    expect(r.text).toBeUndefined();
  });

  it("still nudges with the plain checklist text when the model fails", async () => {
    llm.script({ status: 429 });
    const r = await h.call("heartbeat.run", { idempotencyKey: key(), now: local("14:30") });
    expect(r).toMatchObject({ send: true, due: ["lunch-check"], llmCalls: 1 });
    expect(r.text).toMatch(/Did you have lunch/);
  });
});

describe("heartbeat checklist (offline)", () => {
  let h: Harness;
  beforeEach(async () => void (h = await startAgent({ timezone: "Europe/Berlin", now: local("07:00") })));
  afterEach(() => h.close());

  const beat = (hhmm: string, day?: string) => h.call("heartbeat.run", { idempotencyKey: key("hb"), now: local(hhmm, day) });

  it("sends no morning brief or evening check on an empty day: that would only say all is well", async () => {
    for (const t of ["08:15", "08:45", "20:15", "21:30"]) expect(await beat(t)).toMatchObject({ send: false, due: [] });
    await tool(h, "add_task", { title: "call the bank" });
    const r = await beat("20:20");
    expect(r).toMatchObject({ send: true, due: ["evening-check"] });
    expect(r.text).toContain("still open: 1");
  });

  it("asks about lunch after 14:00 only when none is logged", async () => {
    expect((await beat("13:50")).send).toBe(false);
    const r = await beat("14:10");
    expect(r).toMatchObject({ send: true, due: ["lunch-check"], llmCalls: 0 });
    expect(r.text).toMatch(/Did you have lunch/);
    expect((await beat("14:40")).send).toBe(false);

    await tool(h, "log_meal", { description: "soup", mealType: "lunch", when: "2026-11-19T12:30" });
    expect((await beat("14:10", "2026-11-19")).send).toBe(false);
  });

  it("delivers a reminder whose alarm was missed, and marks it fired", async () => {
    await tool(h, "set_reminder", { text: "water the plants", when: "2026-11-18T09:00" });
    expect((await beat("09:02")).send).toBe(false); // still within the grace period: the alarm owns it
    const r = await beat("09:30");
    expect(r).toMatchObject({ send: true, due: ["due-reminders"] });
    expect(r.text).toContain("water the plants");
    expect(alarmEvents(h).at(-1)).toBeNull();
    expect((await h.call("alarm.fire", { idempotencyKey: key(), now: local("09:31") })).reminders).toEqual([]);
  });

  it("warns once about an event starting within 30 minutes and once a day about overdue tasks", async () => {
    await tool(h, "add_event", { title: "Team sync", start: "2026-11-18T11:00", location: "Room 4" });
    await tool(h, "add_task", { title: "file taxes", due: "2026-11-18T10:00" });
    const r = await beat("10:40");
    expect(r.due.sort()).toEqual(["overdue-tasks", "upcoming-event"]);
    expect(r.text).toContain("Coming up at 11:00: Team sync (Room 4)");
    expect(r.text).toContain("file taxes");
    expect((await beat("10:45")).send).toBe(false);
    expect((await beat("10:30", "2026-11-19")).due).toEqual(["overdue-tasks"]);
  });

  it("follows the user's edits to HEARTBEAT.md", async () => {
    await h.call("workspace.write", { path: "HEARTBEAT.md", content: "# Mine\n\n- `morning-brief 06:00-07:00` early bird\n" });
    await tool(h, "add_task", { title: "pack the bags" });
    expect((await beat("14:30")).send).toBe(false);
    const r = await beat("06:30", "2026-11-19");
    expect(r).toMatchObject({ send: true, due: ["morning-brief"] });
    expect(r.nextDueAt).toBe(local("06:00", "2026-11-20"));
  });

  it("parses checklist lines, ignoring unknown names and bad windows", () => {
    const items = parseChecklist("- `lunch-check 13:30` x\n- `morning-brief 09:00-08:00` bad\n- `nonsense` y\n* `upcoming-event 15` soon\nplain text");
    expect(items).toEqual([
      { check: "lunch-check", after: "13:30", note: "x" },
      { check: "upcoming-event", minutesAhead: 15, note: "soon" },
    ]);
  });
});
