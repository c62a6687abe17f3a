import { ManualClock } from "../src/clock";
import { openDatabase, type Database } from "../src/db/database";
import { createLogger } from "../src/logger";
import { LeaderLease } from "../src/sandboxes/leader-lease";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";

const logger = createLogger({ level: "silent" });

describeEachDriver("leader lease in the database", (driver) => {
  let t: TestDatabase;
  let second: Database;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
    // On PostgreSQL the second replica has its own pool: a real race between two connections.
    second = t.url ? await openDatabase({ databaseUrl: t.url, dataDir: ":memory:" }) : t.database;
  });
  afterAll(async () => {
    if (second !== t.database) await second.close();
    await t.cleanup();
  });

  it("one holder at a time; renewal keeps it; a dead holder's lease passes on after the TTL; release hands it over at once", async () => {
    const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
    const a = new LeaderLease({ db: t.database.db, name: "r1", holder: "a", ttlMs: 30_000, clock, logger });
    const b = new LeaderLease({ db: second.db, name: "r1", holder: "b", ttlMs: 30_000, clock, logger });
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    clock.advance(20_000);
    expect(await a.acquire()).toBe(true); // renewed: expires at +50s now
    clock.advance(20_000);
    expect(await b.acquire()).toBe(false); // 40s: a's renewal still holds
    clock.advance(11_000);
    // a stopped renewing (dead): at 51s b takes over, and a, back from a pause, does not.
    expect(await b.acquire()).toBe(true);
    expect(await a.acquire()).toBe(false);
    await b.release();
    expect(await a.acquire()).toBe(true);
    // Another lease name is independent.
    expect(await new LeaderLease({ db: second.db, name: "other", holder: "b", clock, logger }).acquire()).toBe(true);
  });

  it("many replicas racing for a free lease: exactly one wins", async () => {
    const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
    const racers = Array.from({ length: 12 }, (_, i) => new LeaderLease({ db: (i % 2 ? second : t.database).db, name: "race", holder: `r${i}`, clock, logger }));
    const won = await Promise.all(racers.map((r) => r.acquire()));
    expect(won.filter(Boolean)).toHaveLength(1);
  });
});
