import { DateTime } from "luxon";
import { occurrence } from "../src/time/recurrence";
import { resolveTime } from "../src/time/resolve-time";
import { alarmEvents, key, startAgent, type Harness } from "./agent-harness";

async function tool(h: Harness, name: string, args: Record<string, unknown>): Promise<any> {
  const r = await h.call("tool.call", { trust: "full", idempotencyKey: key(name), name, arguments: JSON.stringify(args) });
  return JSON.parse(r.output);
}

describe("natural times in the user's timezone", () => {
  // [the test's name, the words, the user's zone, now, the instant they mean]
  it.each([
    ['resolves "tomorrow at 17:00" for Asia/Kolkata to 11:30 UTC', "tomorrow at 17:00", "Asia/Kolkata", "2026-11-21T10:00:00Z", "2026-11-22T11:30:00.000Z"],
    // New York leaves DST on 1 Nov 2026: Monday 2 Nov 09:00 is EST (UTC-5), while "now" is EDT.
    ["uses the offset of the target date, not of today, across a DST change", "next monday at 9am", "America/New_York", "2026-10-30T12:00:00Z", "2026-11-02T14:00:00.000Z"],
    ["moves a time already past today to tomorrow", "at 5pm", "Europe/London", "2026-11-21T18:30:00Z", "2026-11-22T17:00:00.000Z"],
    ["treats 'in 2 hours' as a duration from now", "in 2 hours", "Asia/Tokyo", "2026-11-21T10:00:00Z", "2026-11-21T12:00:00.000Z"],
  ])("%s", (_title, text, zone, now, at) => {
    expect(resolveTime(text, zone, new Date(now))!.at.toISO()).toBe(at);
  });

  it("takes ISO input without offset as local wall time and with offset as given", () => {
    expect(resolveTime("2026-12-01T09:00", "Europe/Berlin", new Date())!.at.toISO()).toBe("2026-12-01T08:00:00.000Z");
    expect(resolveTime("2026-12-01T09:00:00Z", "Europe/Berlin", new Date())!.at.toISO()).toBe("2026-12-01T09:00:00.000Z");
  });

  it("keeps a monthly reminder on the 31st where the month has one", () => {
    const days = [0, 1, 2].map((n) => occurrence("2027-01-31T09:00:00", "UTC", "monthly", n).toISODate());
    expect(days).toEqual(["2027-01-31", "2027-02-28", "2027-03-31"]);
  });
});

describe("reminders and alarms", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("sets a reminder in the user's zone, announces the alarm, and fires it once", async () => {
    h = await startAgent({ timezone: "Asia/Kolkata", now: "2026-11-21T10:00:00Z" });
    const { reminder } = await tool(h, "set_reminder", { text: "call mom", when: "tomorrow at 17:00" });
    expect(reminder).toMatchObject({ due_at: "2026-11-22T11:30:00.000Z", timezone: "Asia/Kolkata", status: "pending" });
    expect(alarmEvents(h).at(-1)).toBe("2026-11-22T11:30:00.000Z");

    const early = await h.call("alarm.fire", { idempotencyKey: key(), now: "2026-11-22T11:29:00Z" });
    expect(early.reminders).toEqual([]);

    const fireKey = key("fire");
    const fired = await h.call("alarm.fire", { idempotencyKey: fireKey, now: "2026-11-22T11:30:00Z" });
    expect(fired).toEqual({ reminders: [{ id: reminder.id, text: "call mom", dueAt: "2026-11-22T11:30:00.000Z", urgent: false }], nextAt: null });
    expect(alarmEvents(h).at(-1)).toBeNull();
    // A redelivered fire returns the same answer; a new one finds nothing left.
    expect(await h.call("alarm.fire", { idempotencyKey: fireKey, now: "2026-11-22T11:31:00Z" })).toEqual(fired);
    expect((await h.call("alarm.fire", { idempotencyKey: key(), now: "2026-11-22T11:32:00Z" })).reminders).toEqual([]);
    expect((await tool(h, "list_reminders", {})).reminders).toEqual([]);
  });

  it("keeps a daily Europe/Berlin reminder at 08:00 local across the late-October DST change", async () => {
    h = await startAgent({ timezone: "Europe/Berlin", now: "2026-10-23T05:00:00Z" });
    const { reminder } = await tool(h, "set_reminder", { text: "vitamins", when: "today at 8:00", recurrence: "daily" });
    expect(reminder.due_at).toBe("2026-10-23T06:00:00.000Z");
    const dues: string[] = [];
    let next: string | null = reminder.due_at;
    for (let i = 0; i < 4; i++) {
      const out = await h.call("alarm.fire", { idempotencyKey: key(), now: next! });
      expect(out.reminders).toHaveLength(1);
      dues.push(out.reminders[0]!.dueAt);
      next = out.nextAt;
    }
    expect(dues).toEqual(["2026-10-23T06:00:00.000Z", "2026-10-24T06:00:00.000Z", "2026-10-25T07:00:00.000Z", "2026-10-26T07:00:00.000Z"]);
    expect(dues.map((d) => DateTime.fromISO(d).setZone("Europe/Berlin").toFormat("HH:mm"))).toEqual(["08:00", "08:00", "08:00", "08:00"]);
    expect(next).toBe("2026-10-27T07:00:00.000Z");
  });

  it("skips missed occurrences of a recurring reminder instead of replaying each", async () => {
    h = await startAgent({ timezone: "UTC", now: "2026-11-01T07:00:00Z" });
    await tool(h, "set_reminder", { text: "stretch", when: "today at 8:00", recurrence: "daily" });
    const out = await h.call("alarm.fire", { idempotencyKey: key(), now: "2026-11-05T12:00:00Z" });
    expect(out.reminders).toHaveLength(1);
    expect(out.nextAt).toBe("2026-11-06T08:00:00.000Z");
  });

  it("refuses a one-off time in the past and understands cancellation", async () => {
    h = await startAgent({ now: "2026-11-21T10:00:00Z" });
    expect((await tool(h, "set_reminder", { text: "x", when: "2026-11-20T10:00" })).error).toMatch(/already passed/);
    const a = await tool(h, "set_reminder", { text: "a", when: "2026-11-21T12:00", urgent: true });
    const b = await tool(h, "set_reminder", { text: "b", when: "2026-11-21T11:00" });
    expect(alarmEvents(h).at(-1)).toBe("2026-11-21T11:00:00.000Z");
    await tool(h, "cancel_reminder", { id: b.reminder.id });
    expect(alarmEvents(h).at(-1)).toBe("2026-11-21T12:00:00.000Z");
    expect((await tool(h, "cancel_reminder", { id: 999 })).error).toMatch(/no reminder #999/);
    const fired = await h.call("alarm.fire", { idempotencyKey: key(), now: "2026-11-21T12:00:00Z" });
    expect(fired.reminders).toEqual([{ id: a.reminder.id, text: "a", dueAt: "2026-11-21T12:00:00.000Z", urgent: true }]);
  });
});

describe("schedule", () => {
  let h: Harness;
  beforeEach(async () => void (h = await startAgent({ timezone: "Europe/Berlin", now: "2026-11-21T08:00:00Z" })));
  afterEach(() => h.close());

  it("detects a conflict and names the conflicting event", async () => {
    const dentist = await tool(h, "add_event", { title: "Dentist", start: "2026-11-23T15:00", durationMinutes: 60, location: "Main St" });
    expect(dentist.created).toBe(true);
    expect(dentist.event.starts_at).toBe("2026-11-23T14:00:00.000Z");
    const clash = await tool(h, "add_event", { title: "Call with Ana", start: "2026-11-23T15:30", end: "2026-11-23T16:30" });
    expect(clash.created).toBe(false);
    expect(clash.message).toContain('"Dentist" (Mon 23 Nov 15:00-16:00)');
    // Back to back is not a conflict.
    expect((await tool(h, "add_event", { title: "Gym", start: "2026-11-23T16:00" })).created).toBe(true);
    // The user agreed to double-book.
    const forced = await tool(h, "add_event", { title: "Call with Ana", start: "2026-11-23T15:30", allowConflict: true });
    expect(forced.created).toBe(true);
    expect(forced.conflicts.map((e: { title: string }) => e.title)).toEqual(["Dentist", "Gym"]);
  });

  it("moves an event keeping its length, refusing an overlap", async () => {
    const a = await tool(h, "add_event", { title: "Standup", start: "2026-11-23T09:00", durationMinutes: 15 });
    await tool(h, "add_event", { title: "Review", start: "2026-11-23T10:00", durationMinutes: 60 });
    const refused = await tool(h, "move_event", { id: a.event.id, start: "2026-11-23T10:30" });
    expect(refused.moved).toBe(false);
    expect(refused.message).toContain('"Review"');
    const moved = await tool(h, "move_event", { id: a.event.id, start: "2026-11-23T11:00" });
    expect(moved.event).toMatchObject({ starts_at: "2026-11-23T10:00:00.000Z", ends_at: "2026-11-23T10:15:00.000Z" });
    expect((await tool(h, "move_event", { id: 404, start: "tomorrow" })).error).toMatch(/no event #404/);
  });

  it("lists events by period in local days", async () => {
    await tool(h, "add_event", { title: "Late dinner", start: "2026-11-22T23:30", durationMinutes: 60 });
    await tool(h, "add_event", { title: "Breakfast", start: "2026-11-23T08:00" });
    const tomorrow = await tool(h, "list_events", { period: "tomorrow" });
    expect(tomorrow.events.map((e: { title: string }) => e.title)).toEqual(["Late dinner"]);
    const week = await tool(h, "list_events", { period: "next_7_days" });
    expect(week.events).toHaveLength(2);
    const deleted = await tool(h, "delete_event", { id: week.events[0].id });
    expect(deleted.deleted.title).toBe("Late dinner");
  });
});
