import { eq } from "drizzle-orm";
import { ManualClock } from "../src/clock";
import { sandboxes } from "../src/db/schema";
import { LeaderLease } from "../src/sandboxes/leader-lease";
import { Reconciler } from "../src/sandboxes/reconciler";
import { createSandboxHarness, killSandbox, type SandboxHarness } from "../../test-support/sandbox-harness";
import { waitFor } from "../../test-support/wait-for";

/**
 * Two replicas' reconcilers on one database and one (fake) cluster, each behind the "reconciler"
 * lease: only the holder acts on a crashed sandbox; when it stops renewing (a SIGKILLed replica),
 * the other takes over after the TTL and does the work.
 */
describe("reconcilers of two replicas behind one lease", () => {
  let h: SandboxHarness;
  const clock = new ManualClock(new Date());
  beforeAll(async () => {
    h = await createSandboxHarness({ kind: "kubernetes", clock });
  }, 60_000);
  afterAll(() => h?.cleanup(), 60_000);

  const reconcilerFor = (holder: string) =>
    new Reconciler({
      db: h.testDb.database.db,
      runtime: h.runtime,
      service: holder === "a" ? h.service : h.replica(),
      logger: h.logger,
      clock,
      waitReady: (target, o) => h.connections.connect(target, o),
      crashBackoff: { baseMs: 0, maxMs: 0 },
      lease: new LeaderLease({ db: h.testDb.database.db, name: "reconciler", holder, ttlMs: 30_000, clock, logger: h.logger }),
    });

  it("only the lease holder restarts a crashed sandbox; after it dies the other one does", async () => {
    const a = reconcilerFor("a");
    const b = reconcilerFor("b");
    const userId = await h.createUser();
    await h.service.ensure(userId);
    killSandbox(h, userId);
    await waitFor(async () => (await h.runtime.inspect({ userId }))?.running === false, 20_000, "the runtime to see the sandbox dead", 100);

    // Both run passes; a holds the lease (it asked first), b's passes do nothing.
    expect(await a.runOnce()).toMatchObject({ restarted: [] }); // first sight: counted, restart after backoff
    const bReport = await b.runOnce();
    expect(Object.values(bReport).flat()).toEqual([]);
    expect((await a.runOnce()).restarted).toEqual([userId]);
    expect((await h.runtime.inspect({ userId }))!.running).toBe(true);

    // a dies (stops renewing). Within the TTL b still does nothing; after it, b reconciles.
    killSandbox(h, userId);
    await waitFor(async () => (await h.runtime.inspect({ userId }))?.running === false, 20_000, "the runtime to see the sandbox dead", 100);
    clock.advance(20_000);
    expect(Object.values(await b.runOnce()).flat()).toEqual([]);
    clock.advance(11_000);
    await b.runOnce(); // takes the lease; first sight of the crash
    clock.advance(1);
    expect((await b.runOnce()).restarted).toEqual([userId]);
    expect((await h.runtime.inspect({ userId }))!.running).toBe(true);
    const [row] = await h.testDb.database.db.select().from(sandboxes).where(eq(sandboxes.userId, userId));
    expect(row).toMatchObject({ state: "running", crashCount: 2 });
  }, 120_000);
});
