import { DateTime } from "luxon";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { ProactiveE2E } from "../../test-support/scheduler-e2e";
import { waitFor } from "../../test-support/wait-for";

const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toJSDate();

describeEachDriver("proactive path with the real agent, inbox, dispatcher and outbox", (driver) => {
  let t: TestDatabase;
  let e2e: ProactiveE2E | undefined;
  beforeEach(async () => {
    t = await createTestDatabase(driver);
  });
  afterEach(async () => {
    await e2e?.stop();
    e2e = undefined;
    await t.cleanup();
  });

  it("a reminder 'tomorrow at 5pm' in Asia/Kolkata fires at 11:30 UTC, once, as a proactive WhatsApp message", async () => {
    const world = (e2e = await new ProactiveE2E(t.database, "2026-11-18T09:00:00Z").start({ timezone: "Asia/Kolkata", activeHours: ["07:00", "07:30"] }));
    expect(await e2e.say("remind me to call mom tomorrow at 5pm")).toMatch(/call mom on Thu 19 Nov 17:00/);
    // The agent's alarm.set crossed the socket and became the alarm row.
    await waitFor(async () => (await world.store.get(world.userId, "alarm"))?.nextRunAt, 2000, "the alarm row");
    expect((await e2e.proactive.store.get(e2e.userId, "alarm"))?.nextRunAt?.toISOString()).toBe("2026-11-19T11:30:00.000Z");

    await e2e.runUntil("2026-11-19T11:29:59Z");
    expect((await e2e.outbox()).filter((m) => m.source === "reminder")).toEqual([]);
    await e2e.runUntil("2026-11-20T12:00:00Z");
    const reminders = (await e2e.outbox()).filter((m) => m.source === "reminder");
    expect(reminders.length).toBe(1);
    expect(reminders[0]).toMatchObject({ channel: "whatsapp", proactive: true, slot: "2026-11-19T11:30:00.000Z", status: "done" });
    expect(reminders[0]!.body).toMatch(/call mom/);
  });

  it("a quiet day of heartbeats offline costs no LLM call, and the one lunch nudge at 14:00 is all the user gets", async () => {
    const zone = "Europe/Berlin";
    e2e = await new ProactiveE2E(t.database, at("2026-11-18T07:00", zone).toISOString()).start({ timezone: zone, activeHours: ["07:00", "23:00"] });
    await e2e.runUntil(at("2026-11-18T13:59", zone));
    // Nothing on the schedule, no tasks, no reminders: the morning brief would only say "all is well".
    expect(await e2e.outbox()).toEqual([]);
    // Slots 07:30 … 13:30 (the row was created at 07:00 sharp; the first slot is the one after).
    expect(await e2e.counter("concierge_heartbeats_run_total")).toBe(13);
    expect(await e2e.counter("concierge_heartbeat_llm_calls_total")).toBe(0);

    await e2e.runUntil(at("2026-11-19T00:00", zone));
    const sent = await e2e.outbox();
    expect(sent.map((m) => [m.source, m.proactive, DateTime.fromISO(m.slot, { zone }).toFormat("HH:mm")])).toEqual([["heartbeat", true, "14:00"]]);
    // 14:30 … 19:30 the lunch question is not asked again, and the empty evening check is not sent.
    expect(sent[0]!.body).toMatch(/Did you have lunch/);
    expect(await e2e.counter("concierge_heartbeat_llm_calls_total")).toBe(0);
    expect(await e2e.counter("concierge_heartbeats_run_total")).toBe(31);
  });
});
