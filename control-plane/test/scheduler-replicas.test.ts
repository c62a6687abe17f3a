import { sql } from "drizzle-orm";
import pino from "pino";
import { Registry } from "prom-client";
import { openDatabase, rows, type Database } from "../src/db/database";
import type { Dispatcher } from "../src/inbox/dispatcher";
import { ScheduleStore } from "../src/scheduler/schedule-store";
import { Scheduler } from "../src/scheduler/scheduler";
import { SchedulerMetrics } from "../src/scheduler/scheduler-metrics";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { SchedulerWorld, type WorldUser } from "../../test-support/scheduler-world";

describeEachDriver("two scheduler replicas on one database", (driver) => {
  let t: TestDatabase;
  let second: Database;
  let world: SchedulerWorld;
  let dispatchers: Dispatcher[] = [];
  beforeAll(async () => {
    t = await createTestDatabase(driver);
    // On PostgreSQL the second replica has its own pool: real concurrency, real row locks.
    second = t.url ? await openDatabase({ databaseUrl: t.url, dataDir: ":memory:" }) : t.database;
  });
  afterAll(async () => {
    for (const d of dispatchers) await d.stop();
    await world?.stop();
    if (second !== t.database) await second.close();
    await t.cleanup();
  });

  it("hands each heartbeat and each alarm to the inbox once, and each reminder reaches the user once", async () => {
    world = await new SchedulerWorld(t.database, { start: "2026-09-01T11:00:00Z" }).start();
    const users: WorldUser[] = [];
    for (let i = 0; i < 12; i++) {
      const u = await world.addUser({ timezone: "UTC", activeHours: ["07:00", "23:00"] });
      u.brain.logLunch("2026-09-01");
      await world.remind(u, `Reminder for user ${i}`, new Date("2026-09-01T12:00:00Z"));
      users.push(u);
    }
    await world.runUntil("2026-09-01T11:59:00Z");
    // Both replicas' loops are driven by hand from here.
    await world.scheduler.stop();
    await world.dispatcher.stop();

    // Replica B: its own store and scheduler on its own connection, small batches to interleave.
    const logger = pino({ level: "silent" });
    const storeB = new ScheduleStore({ database: second, queryClock: world.clock });
    const mk = (store: ScheduleStore) =>
      new Scheduler({ store, enqueue: (tx, e) => world.inbox.enqueue(tx, e), clock: world.clock, logger, metrics: new SchedulerMetrics(new Registry()), heartbeatIntervalMinutes: 30, batchSize: 3 });
    const a = mk(world.store);
    const b = mk(storeB);

    world.clock.set("2026-09-01T12:00:00Z");
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    const claims = await rows<{ kind: string; claims: number; n: number }>(
      t.database.db,
      sql`SELECT kind, claims, count(*)::int AS n FROM schedules GROUP BY kind, claims ORDER BY kind, claims`,
    );
    // Every due row was claimed by exactly one replica, once.
    expect(claims.map((c) => [c.kind, Number(c.claims), c.n])).toEqual([
      ["alarm", 1, 12],
      ["heartbeat", 1, 12],
    ]);
    const events = (await world.events()).filter((e) => e.providerId.endsWith(":2026-09-01T12:00:00.000Z"));
    expect(events.length).toBe(24);
    expect(new Set(events.map((e) => e.providerId)).size).toBe(24);

    // Two dispatchers, one per replica's connection, drain the same inbox at once.
    dispatchers = [world.replicaDispatcher(t.database), world.replicaDispatcher(second)];
    await Promise.all(dispatchers.map((d) => d.start()));
    await world.settle();
    for (const u of users) {
      const sent = (await world.sent(u.id)).filter((s) => s.source === "reminder");
      expect(sent.length).toBe(1);
      expect(u.brain.state.runs.alarm).toBe(1);
    }
    const heartbeatsAtNoon = users.flatMap((u) => u.agent.received.filter((r) => r.method === "heartbeat.run" && r.params.now === "2026-09-01T12:00:00.000Z"));
    expect(heartbeatsAtNoon.length).toBe(12);
  });
});
