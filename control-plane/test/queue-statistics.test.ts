import { sql } from "drizzle-orm";
import { createLogger } from "../src/logger";
import { rows } from "../src/db/database";
import { ManualClock } from "../src/clock";
import { OpenRowsStatistics } from "../src/queue/open-rows-statistics";
import { LeasedQueue } from "../src/queue/leased-queue";
import { Dispatcher, INBOX_QUEUE } from "../src/inbox/dispatcher";
import { Outbox } from "../src/outbox/outbox";
import { OUTBOX_QUEUE } from "../src/outbox/outbox-sender";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { waitFor } from "../../test-support/wait-for";

const logger = createLogger({ level: "silent" });
const flush = () => new Promise((r) => setImmediate(r));

describe("open-rows statistics", () => {
  const setup = (o: { fail?: boolean } = {}) => {
    const clock = new ManualClock();
    const calls: number[] = [];
    let finish: () => void = () => undefined;
    const warnings: unknown[] = [];
    const stats = new OpenRowsStatistics({
      clock,
      logger: { ...logger, info: () => undefined, warn: (x: unknown) => void warnings.push(x) } as unknown as typeof logger,
      minJobs: 100,
      growth: 4,
      minIntervalMs: 30_000,
      analyze: () => {
        calls.push(clock.now().getTime());
        return o.fail ? Promise.reject(new Error("relation is gone")) : new Promise<void>((r) => (finish = r));
      },
    });
    return { clock, calls, stats, warnings, finish: async () => (finish(), await flush()) };
  };

  it("refreshes once the jobs in flight reach the minimum, and not again while that one runs or within the interval", async () => {
    const s = setup();
    for (let n = 1; n < 100; n++) s.stats.observe(n);
    expect(s.calls).toHaveLength(0);
    s.stats.observe(100);
    expect(s.calls).toHaveLength(1);
    s.stats.observe(900); // grew 9x, but the first refresh is still running
    expect(s.calls).toHaveLength(1);
    await s.finish();
    s.stats.observe(900); // within the interval
    expect(s.calls).toHaveLength(1);
    s.clock.advance(30_000);
    s.stats.observe(900); // 9x the fewest since the last refresh (100)
    expect(s.calls).toHaveLength(2);
  });

  it("does not repeat under a steady load, and refreshes again when a new burst follows a quiet spell", async () => {
    const s = setup();
    s.stats.observe(500);
    await s.finish();
    for (let i = 0; i < 50; i++) {
      s.clock.advance(60_000);
      s.stats.observe(400 + (i % 3) * 300); // 400-1000: never 4x the fewest (400)
    }
    expect(s.calls).toHaveLength(1);
    s.stats.observe(3); // the burst drained
    s.stats.observe(150); // a new one: 50x the fewest
    expect(s.calls).toHaveLength(2);
  });

  it("a failed refresh is logged and tried again after the interval", async () => {
    const s = setup({ fail: true });
    s.stats.observe(200);
    await flush();
    expect(s.warnings).toHaveLength(1);
    s.stats.observe(200);
    expect(s.calls).toHaveLength(1);
    s.clock.advance(30_000);
    s.stats.observe(0);
    s.stats.observe(200);
    expect(s.calls).toHaveLength(2);
  });
});

const describePostgres = process.env.DATABASE_URL ? describe : describe.skip;

describePostgres("queue plans on statistics that say nothing is open (PostgreSQL)", () => {
  let t: TestDatabase;
  const USERS = 1000;
  beforeAll(async () => {
    t = await createTestDatabase("postgres");
    const db = t.database.db;
    // A deployment analyzed at a quiet moment: a thousand users, their history, nothing open.
    await db.execute(sql`INSERT INTO users (wa_id, phone) SELECT '49' || g, '49' || g FROM generate_series(1, ${USERS}) g`);
    await db.execute(sql`INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, status, completed_at)
                         SELECT id, 'whatsapp', 'message', 'old-' || id, '{}'::jsonb, 'done', now() FROM users`);
    await db.execute(sql`INSERT INTO outbox (user_id, channel, kind, body, status, sent_at) SELECT id, 'whatsapp', 'text', 'old', 'sent', now() FROM users`);
    await db.execute(sql`ANALYZE`);
    // Then a burst: every user has a message waiting and a reply unsent.
    await db.execute(sql`INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload) SELECT id, 'whatsapp', 'message', 'new-' || id, '{}'::jsonb FROM users`);
    await db.execute(sql`INSERT INTO outbox (user_id, channel, kind, body) SELECT id, 'whatsapp', 'text', 'new' FROM users`);
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
  });

  /**
   * Rows the scans of one run of `statement` produced, summed over their loops (EXPLAIN ANALYZE,
   * in a transaction that is rolled back): the work a plan does, which buffer counts understate
   * when the same few pages are read over and over.
   */
  const rowsScanned = async (statement: ReturnType<typeof sql>) => {
    type Node = { "Node Type": string; "Actual Rows": number; "Actual Loops": number; Plans?: Node[] };
    const sum = (n: Node): number => (/Scan/.test(n["Node Type"]) ? n["Actual Rows"] * n["Actual Loops"] : 0) + (n.Plans ?? []).reduce((a, c) => a + sum(c), 0);
    let scanned = 0;
    await t.database.db
      .transaction(async (tx) => {
        const [r] = await rows<{ "QUERY PLAN": [{ Plan: Node }] }>(tx, sql`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`);
        scanned = sum(r!["QUERY PLAN"][0]!.Plan);
        throw new Error("rollback");
      })
      .catch((err) => {
        if ((err as Error).message !== "rollback") throw err;
      });
    return scanned;
  };

  // Before migration 0003 and the per-candidate head lookups, the planner took the open rows for
  // one row and read all of them for each candidate: 100 x 1000 rows for each claim below (the
  // outbox's: 100,000 scanned). Now it reads the open rows once and each candidate's user alone.
  it.each([
    ["inbox", INBOX_QUEUE],
    ["outbox", OUTBOX_QUEUE],
  ])("a claim of 100 %s heads among 1000 reads each candidate's own rows, not every open row per candidate", async (_name, table) => {
    const queue = new LeasedQueue(table, "planner", 30);
    const scanned = await rowsScanned(queue.claimSql(100));
    expect(scanned).toBeGreaterThanOrEqual(100);
    expect(scanned).toBeLessThan(5 * USERS);
  });

  it("a dispatcher whose turns in flight grow past 100 refreshes the inbox's statistics", async () => {
    const db = t.database.db;
    const analyzed = async () => {
      const [r] = await rows<{ n: number }>(
        db,
        sql`SELECT pg_stat_clear_snapshot(), (SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'inbox_events')::int AS n`,
      );
      return r!.n;
    };
    const before = await analyzed();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started = 0;
    const outbox = new Outbox({ database: t.database, logger, leaseMs: 30_000 });
    const dispatcher = new Dispatcher({ database: t.database, outbox, logger, concurrency: 1000, leaseSeconds: 30, pollIntervalMs: 50, retry: { attempts: 3, baseDelayMs: 1000, maxDelayMs: 1000 } });
    dispatcher.handle("message", async () => {
      started++;
      await held;
      return [];
    });
    await dispatcher.start();
    try {
      await waitFor(async () => started >= 150, 20_000, "150 turns in flight");
      await waitFor(async () => (await analyzed()) > before, 20_000, "ANALYZE of inbox_events");
    } finally {
      release();
      await dispatcher.stop();
    }
  }, 60_000);
});
