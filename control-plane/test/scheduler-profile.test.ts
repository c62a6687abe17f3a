import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { Registry } from "prom-client";
import { sql } from "drizzle-orm";
import { rows } from "../src/db/database";
import { createApp } from "../src/http/app";
import { ManualClock } from "../src/clock";
import { ScheduleStore } from "../src/scheduler/schedule-store";
import { ProfileService } from "../src/scheduler/profile-service";
import { createSchedulerAdminRouter } from "../src/scheduler/scheduler-admin-router";
import { createAdminRouter } from "../src/admin/admin-router";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";

const TOKEN = "admin-token-for-tests-0123456789";

describeEachDriver("a user's proactive profile", (driver) => {
  let t: TestDatabase;
  let server: Server;
  let base: string;
  let profiles: ProfileService;
  let store: ScheduleStore;
  let userId: string;
  let sandboxId: string;
  let changes = 0;
  const clock = new ManualClock("2026-07-01T10:10:00Z");

  beforeAll(async () => {
    t = await createTestDatabase(driver);
    const logger = pino({ level: "silent" });
    store = new ScheduleStore({ database: t.database, queryClock: clock });
    profiles = new ProfileService({ database: t.database, store, logger, heartbeatIntervalMinutes: 30, onScheduleChanged: () => changes++ });
    const app = createApp({
      logger,
      metrics: new Registry(),
      isReady: async () => true,
      routers: [{ path: "/sandbox", router: createAdminRouter({ adminToken: TOKEN, routes: [createSchedulerAdminRouter({ profiles })] }) }],
    });
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const [u] = await rows<{ id: string }>(t.database.db, sql`INSERT INTO users (phone) VALUES ('4915100000001') RETURNING id`);
    userId = u!.id;
    const [s] = await rows<{ id: string }>(t.database.db, sql`INSERT INTO sandboxes (user_id, state) VALUES (${userId}, 'running') RETURNING id`);
    sandboxId = s!.id;
  });
  afterAll(async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    await t.cleanup();
  });

  const put = (id: string, body: unknown, token = TOKEN) =>
    fetch(`${base}/sandbox/users/${id}/profile`, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });

  it("refuses a request without the admin token", async () => {
    const res = await put(userId, { timezone: "Europe/Berlin" }, "wrong-token-wrong-token");
    expect(res.status).toBe(401);
  });

  it("sets the time zone and active hours and reschedules the next heartbeat in local time", async () => {
    const res = await put(userId, { timezone: "Asia/Kolkata", activeHoursStart: "16:00", activeHoursEnd: "22:00" });
    expect(res.status).toBe(200);
    const body = await res.json() as any;
    // 10:10Z is 15:40 in Kolkata: the first slot is 16:00 local, 10:30Z.
    expect(body).toEqual({ userId, timezone: "Asia/Kolkata", activeHoursStart: "16:00", activeHoursEnd: "22:00", nextHeartbeatAt: "2026-07-01T10:30:00.000Z" });
    expect((await store.get(userId, "heartbeat"))?.nextRunAt?.toISOString()).toBe("2026-07-01T10:30:00.000Z");
    expect(changes).toBeGreaterThan(0);
    const got = await fetch(`${base}/sandbox/users/${userId}/profile`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect((await got.json() as any).timezone).toBe("Asia/Kolkata");
  });

  it("rejects an unknown time zone or a malformed hour with 400 and changes nothing", async () => {
    const res = await put(userId, { timezone: "Mars/Olympus_Mons", activeHoursStart: "7am" });
    expect(res.status).toBe(400);
    const body = await res.json() as any;
    expect(body.error.code).toBe("bad_request");
    expect(body.error.details.problems).toHaveLength(2);
    expect((await profiles.get(userId)).timezone).toBe("Asia/Kolkata");
    expect((await put(userId, { timezone: "UTC", extra: 1 })).status).toBe(400);
  });

  it("answers 404 for an unknown user", async () => {
    const res = await put("no-such-user", { timezone: "UTC" });
    expect(res.status).toBe(404);
  });

  it("mirrors the agent's profile.updated and alarm.set events", async () => {
    await profiles.handleAgentEvent(sandboxId, "profile.updated", { timezone: "Europe/Berlin", activeHours: { start: "08:00", end: "20:00" } });
    const p = await profiles.get(userId);
    expect([p.timezone, p.activeHoursStart, p.activeHoursEnd]).toEqual(["Europe/Berlin", "08:00", "20:00"]);
    // 10:10Z is 12:10 in Berlin (CEST): next slot 12:30 local.
    expect(p.nextHeartbeatAt).toBe("2026-07-01T10:30:00.000Z");

    await profiles.handleAgentEvent(sandboxId, "alarm.set", { at: "2026-07-02T06:00:00+02:00" });
    expect((await store.get(userId, "alarm"))?.nextRunAt?.toISOString()).toBe("2026-07-02T04:00:00.000Z");
    await profiles.handleAgentEvent(sandboxId, "alarm.set", { at: null });
    expect((await store.get(userId, "alarm"))?.nextRunAt).toBeNull();
    // A bad event from an agent is refused, not applied.
    await expect(profiles.handleAgentEvent(sandboxId, "profile.updated", { timezone: "Nowhere/Land" })).rejects.toThrow(/IANA/);
  });
});
