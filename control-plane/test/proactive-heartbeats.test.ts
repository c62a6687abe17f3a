import { DateTime } from "luxon";
import { describeEachDriver } from "../../test-support/db";
import { useSchedulerWorlds } from "../../test-support/scheduler-world";

const berlin = (iso: string) => DateTime.fromISO(iso, { zone: "Europe/Berlin" }).toJSDate();
const localHHmm = (at: string | Date, zone = "Europe/Berlin") => DateTime.fromJSDate(new Date(at), { zone }).toFormat("HH:mm");

describeEachDriver("heartbeats", (driver) => {
  const startWorld = useSchedulerWorlds(driver);

  it("runs only inside active hours, and a day with nothing due sends nothing and makes no LLM call", async () => {
    const world = await startWorld({ start: berlin("2026-07-01T00:00").toISOString() });
    const ada = await world.addUser({ timezone: "Europe/Berlin", activeHours: ["07:00", "23:00"] });
    ada.brain.logLunch("2026-07-01");
    await world.runUntil(berlin("2026-07-02T00:00"));

    const runs = ada.agent.received.filter((r) => r.method === "heartbeat.run");
    expect(runs.length).toBe(32); // 07:00, 07:30, ... 22:30
    expect(localHHmm(runs[0]!.params.now)).toBe("07:00");
    expect(localHHmm(runs.at(-1)!.params.now)).toBe("22:30");
    expect(runs.every((r) => { const h = localHHmm(r.params.now); return h >= "07:00" && h < "23:00"; })).toBe(true);
    expect(await world.sent(ada.id)).toEqual([]);
    expect(ada.brain.state.llmCalls).toBe(0);
    expect(await world.counter("concierge_heartbeats_run_total")).toBe(32);
    expect(await world.counter("concierge_heartbeat_llm_calls_total")).toBe(0);
    expect(await world.counter("concierge_heartbeat_llm_tokens_total")).toBe(0);
    expect(await world.counter("concierge_proactive_suppressed_total", { reason: "all_well" })).toBe(32);
  });

  it("nudges once when lunch is unlogged at 14:00, and not again that day", async () => {
    const world = await startWorld({ start: berlin("2026-07-01T06:00").toISOString() });
    const ben = await world.addUser({ timezone: "Europe/Berlin" });
    await world.runUntil(berlin("2026-07-01T13:59"));
    expect(await world.sent(ben.id)).toEqual([]);
    expect(await world.counter("concierge_heartbeat_llm_calls_total")).toBe(0);

    await world.runUntil(berlin("2026-07-02T00:00"));
    const sent = await world.sent(ben.id);
    expect(sent.map((s) => [s.body, localHHmm(s.sentAt), s.proactive, s.source])).toEqual([
      ["You haven't logged lunch today. Did you eat?", "14:00", true, "heartbeat"],
    ]);
    // 14:30 … 22:30 asked again and were withheld as duplicates within 24 hours.
    expect(await world.counter("concierge_proactive_suppressed_total", { reason: "duplicate" })).toBe(17);
    expect(await world.counter("concierge_heartbeat_llm_calls_total")).toBe(18);
    expect(await world.counter("concierge_heartbeat_llm_tokens_total")).toBe(18 * 420);

    // The next day, lunch logged: silence.
    ben.brain.logLunch("2026-07-02");
    await world.runUntil(berlin("2026-07-03T00:00"));
    expect((await world.sent(ben.id)).length).toBe(1);
  });

  it("never lets 'all is well' reach the user, whatever the agent says", async () => {
    const world = await startWorld({ start: berlin("2026-07-01T09:50").toISOString() });
    const cy = await world.addUser({ timezone: "Europe/Berlin" });
    const answers = [
      { send: false, text: "All is well", due: [] },
      { send: true, text: "   ", due: [] },
      { send: true, due: [] },
    ];
    let i = 0;
    cy.agent.handlers["heartbeat.run"] = () => answers[i++ % answers.length];
    await world.runUntil(berlin("2026-07-01T11:10"));
    expect(i).toBe(3);
    expect(await world.sent(cy.id)).toEqual([]);
  });

  it("caps proactive heartbeat messages per local day", async () => {
    const world = await startWorld({ start: berlin("2026-07-01T06:00").toISOString(), dailyCap: 3 });
    const di = await world.addUser({ timezone: "Europe/Berlin" });
    let n = 0;
    di.agent.handlers["heartbeat.run"] = () => ({ send: true, text: `Idea number ${++n}`, due: ["ideas"], llmCalls: 1, tokens: 10 });
    await world.runUntil(berlin("2026-07-02T12:00"));
    const sent = await world.sent(di.id);
    expect(sent.map((s) => [DateTime.fromJSDate(s.sentAt, { zone: "Europe/Berlin" }).toISODate(), localHHmm(s.sentAt)])).toEqual([
      ["2026-07-01", "07:00"],
      ["2026-07-01", "07:30"],
      ["2026-07-01", "08:00"],
      ["2026-07-02", "07:00"],
      ["2026-07-02", "07:30"],
      ["2026-07-02", "08:00"],
    ]);
    expect(await world.counter("concierge_proactive_suppressed_total", { reason: "cap" })).toBeGreaterThan(0);
  });

  it("does not wake a stopped sandbox unless the agent's last report says something is due", async () => {
    const world = await startWorld({ start: berlin("2026-07-01T08:00").toISOString() });
    const ed = await world.addUser({ timezone: "Europe/Berlin", sandboxState: "stopped" });
    await world.runUntil(berlin("2026-07-01T12:00"));
    expect(world.wakes).toBe(0);
    expect(ed.agent.received).toEqual([]);
    expect(await world.counter("concierge_heartbeats_skipped_total", { reason: "asleep" })).toBe(8);

    // Its last report (before it stopped) said the lunch check becomes due at 14:00.
    await world.store.recordHeartbeatReport(ed.id, berlin("2026-07-01T14:00"));
    await world.runUntil(berlin("2026-07-01T14:10"));
    expect(world.wakes).toBe(1);
    expect((await world.sent(ed.id)).map((s) => localHHmm(s.sentAt))).toEqual(["14:00"]);
  });

  it("drops heartbeats missed while the control plane was down instead of replaying them", async () => {
    const world = await startWorld({ start: berlin("2026-07-01T08:00").toISOString() });
    const fay = await world.addUser({ timezone: "Europe/Berlin" });
    fay.brain.logLunch("2026-07-01");
    await world.runUntil(berlin("2026-07-01T09:00"));
    const before = fay.agent.received.length;
    await world.scheduler.stop();
    world.clock.set(berlin("2026-07-01T15:10"));
    world.scheduler.start();
    await world.runUntil(berlin("2026-07-01T15:20"));
    // One stale slot claimed and dropped; the next run is the 15:30 slot, not six hours of backlog.
    expect(fay.agent.received.length).toBe(before);
    expect(await world.counter("concierge_heartbeats_skipped_total", { reason: "missed" })).toBe(1);
    await world.runUntil(berlin("2026-07-01T15:31"));
    expect(fay.agent.received.length).toBe(before + 1);
  });
});
