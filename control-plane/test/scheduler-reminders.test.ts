import { DateTime } from "luxon";
import { describeEachDriver } from "../../test-support/db";
import { useSchedulerWorlds } from "../../test-support/scheduler-world";

describeEachDriver("exact-time reminders", (driver) => {
  const startWorld = useSchedulerWorlds(driver);

  it("fires a reminder for 'tomorrow at 17:00' in Asia/Kolkata at 11:30 UTC, once", async () => {
    // 2026-03-10 14:30 in Kolkata; "tomorrow at 17:00" there is 2026-03-11T11:30:00Z.
    const world = await startWorld({ start: "2026-03-10T09:00:00Z", pollMs: 24 * 3600_000 });
    // Heartbeats only at 07:00 local, so nothing else wakes the scheduler near 17:00.
    const ada = await world.addUser({ timezone: "Asia/Kolkata", activeHours: ["07:00", "07:30"] });
    const due = DateTime.fromISO("2026-03-11T17:00", { zone: "Asia/Kolkata" }).toJSDate();
    expect(due.toISOString()).toBe("2026-03-11T11:30:00.000Z");
    await world.remind(ada, "Call the bank", due);

    expect((await world.store.get(ada.id, "alarm"))?.nextRunAt?.toISOString()).toBe("2026-03-11T11:30:00.000Z");
    await world.runUntil("2026-03-11T02:00:00Z");
    // The scheduler sleeps exactly until the reminder (its poll here is an hour): on the minute.
    expect(world.scheduler.nextWakeAt?.toISOString()).toBe("2026-03-11T11:30:00.000Z");
    await world.runUntil("2026-03-11T11:29:59.999Z");
    expect(await world.sent(ada.id)).toEqual([]);

    await world.runUntil("2026-03-13T00:00:00Z");
    const sent = (await world.sent(ada.id)).filter((s) => s.source === "reminder");
    expect(sent.map((s) => [s.body, s.sentAt.toISOString(), s.proactive, s.source])).toEqual([
      ["Call the bank", "2026-03-11T11:30:00.000Z", true, "reminder"],
    ]);
    expect((await world.events("alarm")).length).toBe(1);
    expect(ada.brain.state.runs.alarm).toBe(1);
    // The agent said nothing else is due: the alarm row is cleared, not left to re-fire.
    expect((await world.store.get(ada.id, "alarm"))?.nextRunAt).toBeNull();
  });

  it("fires a daily reminder at the same local time across the DST change in Europe/Berlin", async () => {
    const world = await startWorld({ start: "2026-03-26T12:00:00Z" });
    const ben = await world.addUser({ timezone: "Europe/Berlin", activeHours: ["20:00", "20:30"] });
    const first = DateTime.fromISO("2026-03-27T08:00", { zone: "Europe/Berlin" }).toJSDate();
    await world.remind(ben, "Take your vitamins", first, { dailyAt: "08:00" });

    await world.runUntil("2026-03-31T12:00:00Z");
    const sent = (await world.sent(ben.id)).filter((s) => s.source === "reminder");
    // Clocks go forward on 2026-03-29: 07:00Z before, 06:00Z after; always 08:00 in Berlin.
    expect(sent.map((s) => s.sentAt.toISOString())).toEqual([
      "2026-03-27T07:00:00.000Z",
      "2026-03-28T07:00:00.000Z",
      "2026-03-29T06:00:00.000Z",
      "2026-03-30T06:00:00.000Z",
      "2026-03-31T06:00:00.000Z",
    ]);
    expect(sent.every((s) => DateTime.fromJSDate(s.sentAt, { zone: "Europe/Berlin" }).toFormat("HH:mm") === "08:00")).toBe(true);
    // Same text 23 hours apart still goes out: reminders are deduped per occurrence, not by text.
    expect(sent.every((s) => s.body === "Take your vitamins")).toBe(true);
  });

  it("fires a reminder due at 06:00, outside active hours, at 06:00, and wakes a stopped sandbox for it", async () => {
    const world = await startWorld({ start: "2026-05-04T20:00:00Z" });
    const cy = await world.addUser({ timezone: "Europe/Berlin", activeHours: ["09:00", "21:00"], sandboxState: "stopped" });
    await world.remind(cy, "Leave for the airport", DateTime.fromISO("2026-05-05T06:00", { zone: "Europe/Berlin" }).toJSDate(), { urgent: true });
    await world.runUntil("2026-05-05T06:00:00Z");
    const sent = (await world.sent(cy.id)).filter((s) => s.source === "reminder");
    expect(sent.map((s) => [s.body, s.sentAt.toISOString()])).toEqual([["Leave for the airport", "2026-05-05T04:00:00.000Z"]]);
    expect(world.wakes).toBe(1);
    // Urgent: the phone rings too, once.
    expect(world.calls).toEqual([{ userId: cy.id, text: "Leave for the airport" }]);
  });

  it("fires late, once, when the scheduler was down at the due time", async () => {
    const world = await startWorld({ start: "2026-06-01T08:00:00Z" });
    const di = await world.addUser({ timezone: "UTC", activeHours: ["20:00", "20:30"] });
    await world.remind(di, "Water the plants", new Date("2026-06-01T09:00:00Z"));
    await world.scheduler.stop();
    world.clock.set("2026-06-01T11:17:00Z");
    world.scheduler.start();
    await world.runUntil("2026-06-02T12:00:00Z");
    const sent = (await world.sent(di.id)).filter((s) => s.source === "reminder");
    expect(sent.map((s) => [s.body, s.sentAt.toISOString()])).toEqual([["Water the plants", "2026-06-01T11:17:00.000Z"]]);
  });

  it("never fires one occurrence twice, even when the alarm is claimed again before the agent answers", async () => {
    const world = await startWorld({ start: "2026-06-01T08:00:00Z" });
    const ed = await world.addUser({ timezone: "UTC", activeHours: ["20:00", "20:30"] });
    await world.remind(ed, "Standup", new Date("2026-06-01T08:30:00Z"));
    // The agent re-announces the same due time (a reboot does): same slot, same inbox row.
    await world.runUntil("2026-06-01T08:30:00Z");
    await world.store.setAlarm(ed.id, new Date("2026-06-01T08:30:00Z"));
    await world.scheduler.tick();
    await world.runUntil("2026-06-01T10:00:00Z");
    expect((await world.sent(ed.id)).filter((s) => s.source === "reminder").map((s) => s.body)).toEqual(["Standup"]);
    expect(ed.brain.state.reminders.map((r) => r.done)).toEqual([true]);
    // The re-announced slot deduped to the first inbox row: one event for 08:30.
    expect((await world.events("alarm")).filter((e) => e.providerId.endsWith("08:30:00.000Z")).length).toBe(1);
  });
});
