import { sql } from "drizzle-orm";
import { rows } from "../src/db/database";
import { ProactiveGuard } from "../src/scheduler/proactive-guard";
import { describeEachDriver, useTestDatabase } from "../../test-support/db";

describeEachDriver("the never-spammy guard", (driver) => {
  const t = useTestDatabase(driver);
  let guard: ProactiveGuard;
  let userId: string;
  beforeAll(async () => {
    guard = new ProactiveGuard(t.database);
    const [u] = await rows<{ id: string }>(t.database.db, sql`INSERT INTO users (phone) VALUES ('4915100000002') RETURNING id`);
    userId = u!.id;
  });

  const hb = (text: string, sourceKey: string, now: string, dailyCap = 8) =>
    guard.admitHeartbeat({ userId, text, sourceKey, now: new Date(now), timezone: "Europe/Berlin", dailyCap });

  it("withholds the same text within 24 hours, lets it through after, and lets a retry of the same event through", async () => {
    expect(await hb("Did you eat lunch?", "hb:1", "2026-07-01T12:00:00Z")).toEqual({ send: true });
    expect(await hb("did you eat LUNCH", "hb:2", "2026-07-01T18:00:00Z")).toEqual({ send: false, reason: "duplicate" });
    // The event that sent it, retried after a crash, is not its own duplicate.
    expect(await hb("Did you eat lunch?", "hb:1", "2026-07-01T12:00:05Z")).toEqual({ send: true });
    expect(await hb("Did you eat lunch?", "hb:3", "2026-07-02T12:00:01Z")).toEqual({ send: true });
  });

  it("caps heartbeat messages per local day and starts again the next local day", async () => {
    const day = "2026-08-01";
    for (let i = 0; i < 3; i++) expect(await hb(`note ${i}`, `cap:${i}`, `${day}T08:0${i}:00Z`, 3)).toEqual({ send: true });
    expect(await hb("note 3", "cap:3", `${day}T09:00:00Z`, 3)).toEqual({ send: false, reason: "cap" });
    // 22:30Z on Aug 1 is already Aug 2 in Berlin.
    expect(await hb("note 4", "cap:4", `${day}T22:30:00Z`, 3)).toEqual({ send: true });
  });

  it("sends each reminder occurrence once, however often it is asked, without a cap", async () => {
    const occ = (key: string, src: string) => guard.admitOccurrence({ userId, kind: "reminder", occurrenceKey: key, sourceKey: src, now: new Date("2026-09-01T06:00:00Z"), timezone: "UTC" });
    expect(await occ("7@2026-09-01T06:00:00.000Z", "alarm:a")).toEqual({ send: true });
    expect(await occ("7@2026-09-01T06:00:00.000Z", "alarm:b")).toEqual({ send: false, reason: "duplicate" });
    expect(await occ("7@2026-09-02T06:00:00.000Z", "alarm:c")).toEqual({ send: true });
    for (let i = 0; i < 20; i++) expect(await occ(`${100 + i}@2026-09-01T06:00:00.000Z`, `alarm:x${i}`)).toEqual({ send: true });
  });

  it("lets only one of two concurrent events with the same text through", async () => {
    const results = await Promise.all([hb("Water the plants?", "race:1", "2026-10-01T10:00:00Z"), hb("Water the plants?", "race:2", "2026-10-01T10:00:00Z")]);
    expect(results.filter((r) => r.send).length).toBe(1);
  });
});
