import { sql } from "drizzle-orm";
import { createLogger } from "../src/logger";
import { rows, openDatabase, type Database } from "../src/db/database";
import { users } from "../src/db/schema";
import { ManualClock, systemClock } from "../src/clock";
import { ClaimLoop, type LeasedJob } from "../src/queue/claim-loop";
import { Retention } from "../src/queue/retention";
import { Inbox } from "../src/inbox/inbox";
import { Dispatcher, INBOX_QUEUE } from "../src/inbox/dispatcher";
import { LeasedQueue } from "../src/queue/leased-queue";
import { Outbox } from "../src/outbox/outbox";
import { SandboxUnavailableError } from "../src/sandboxes/runtime";
import type { ChannelAdapter, OutboundRow } from "../src/outbox/types";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { sleep } from "../../test-support/fake-agent";
import { waitFor } from "../../test-support/wait-for";
import { failUpdatesTo } from "../../test-support/failing-updates";

const logger = createLogger({ level: "silent" });

const flush = () => new Promise((r) => setImmediate(r));

describe("claim loop", () => {
  function loopWith(capacity: number, clock: ManualClock, hang: boolean) {
    const claims: number[] = [];
    const renewals: string[][] = [];
    let next = 0;
    const loop = new ClaimLoop<LeasedJob>({
      capacity,
      pollIntervalMs: 1000,
      renewEveryMs: 4000,
      clock,
      logger,
      claim: async (n) => {
        claims.push(n);
        if (!hang) return [];
        return Array.from({ length: n }, () => ({ id: String(next), leaseToken: `w:${next++}` }));
      },
      renew: async (jobs) => (renewals.push(jobs.map((j) => j.leaseToken)), new Set(jobs.map((j) => j.leaseToken))),
      process: (_job, signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve())),
    });
    return { loop, claims, renewals };
  }

  it("runs the same number of claims while idle whatever its capacity", async () => {
    const counts: number[] = [];
    for (const capacity of [4, 400]) {
      const clock = new ManualClock();
      const { loop, claims } = loopWith(capacity, clock, false);
      loop.start();
      for (let i = 0; i < 30; i++) {
        clock.advance(1000);
        await flush();
      }
      await loop.stop();
      counts.push(claims.length);
    }
    // One at start and one per poll interval, for 4 slots as for 400.
    expect(counts).toEqual([31, 31]);
  });

  it("claims every free slot in batches and renews all their leases in one statement", async () => {
    const clock = new ManualClock();
    const { loop, claims, renewals } = loopWith(250, clock, true);
    loop.start();
    await flush();
    await flush();
    await flush();
    expect(claims).toEqual([100, 100, 50]);
    expect(loop.size).toBe(250);
    clock.advance(4000);
    await flush();
    expect(renewals).toHaveLength(1);
    expect(renewals[0]).toHaveLength(250);
    // Full: the poll finds no free slot and claims nothing more.
    clock.advance(1000);
    await flush();
    expect(claims).toHaveLength(3);
    await loop.stop();
  });
});

describeEachDriver("queues", (driver) => {
  let t: TestDatabase;
  let userId: string;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
    [{ id: userId }] = (await t.database.db.insert(users).values({ name: "q", waId: "4915000000" }).returning({ id: users.id })) as [{ id: string }];
  });
  afterAll(async () => {
    await t.cleanup();
  });
  beforeEach(async () => {
    await t.database.db.execute(sql`DELETE FROM inbox_events`);
    await t.database.db.execute(sql`DELETE FROM outbox`);
  });

  const event = (providerId: string, status: string, completedDaysAgo: number | null, extra = sql``) =>
    t.database.db.execute(sql`INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, status, completed_at, created_at)
      VALUES (${userId}, 'whatsapp', 'message', ${providerId}, '{"text":"secret"}'::jsonb, ${status},
              ${completedDaysAgo === null ? null : sql`now() - make_interval(days => ${completedDaysAgo})`},
              now() - interval '90 days') ${extra}`);

  it("retention deletes only old finished rows, never an open one", async () => {
    await event("old-done", "done", 40);
    await event("old-dead", "dead", 31);
    await event("new-done", "done", 5);
    await event("old-pending", "pending", null);
    await event("old-processing", "processing", null);
    const out = (status: string, daysAgo: number) =>
      t.database.db.execute(sql`INSERT INTO outbox (user_id, channel, kind, body, status, updated_at)
        VALUES (${userId}, 'whatsapp', 'text', ${`body ${status} ${daysAgo}`}, ${status}, now() - make_interval(days => ${daysAgo}))`);
    await out("sent", 45);
    await out("failed", 45);
    await out("sent", 1);
    await out("pending", 45);
    await out("sending", 45);
    // Batches of 1: the sweep keeps going until no old finished row is left.
    const retention = new Retention({ database: t.database, logger, clock: systemClock, days: 30, batch: 1 });
    expect(await retention.sweep()).toEqual({ inbox_events: 2, outbox: 2 });
    const left = await rows<{ provider_id: string }>(t.database.db, sql`SELECT provider_id FROM inbox_events ORDER BY provider_id`);
    expect(left.map((r) => r.provider_id)).toEqual(["new-done", "old-pending", "old-processing"]);
    const outLeft = await rows<{ status: string }>(t.database.db, sql`SELECT status FROM outbox ORDER BY status`);
    expect(outLeft.map((r) => r.status)).toEqual(["pending", "sending", "sent"]);
    expect(await new Retention({ database: t.database, logger, clock: systemClock, days: 0 }).sweep()).toEqual({});
  });

  it("audit 15.9: retries infrastructure failures past the agent's attempts, without an apology until the long schedule is spent", async () => {
    const sent: OutboundRow[] = [];
    const adapter: ChannelAdapter = { channel: "whatsapp", send: async (r) => (sent.push(r), { providerId: `p-${r.id}` }) };
    const outbox = new Outbox({ database: t.database, logger, pollIntervalMs: 30 });
    outbox.registerAdapter(adapter);
    let calls = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    const dispatcher = new Dispatcher({
      database: t.database,
      outbox,
      logger,
      concurrency: 4,
      leaseSeconds: 30,
      pollIntervalMs: 30,
      retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 },
      infraRetry: { attempts: 6, baseDelayMs: 5, maxDelayMs: 10 },
    });
    dispatcher.handle("message", async () => {
      calls++;
      // The third attempt waits until the test has looked: it is past the agent's two attempts.
      if (calls === 3) await gate;
      throw new SandboxUnavailableError("the Docker daemon is restarting");
    });
    await outbox.start();
    await dispatcher.start();
    try {
      await t.database.db.transaction((tx) => new Inbox().enqueue(tx, { userId, channel: "whatsapp", kind: "message", providerId: "infra-1", payload: { text: "hi" } }));
      await waitFor(() => calls >= 3, 10_000, "a third attempt");
      // Past the agent's two attempts: still pending, and nobody was told sorry.
      const [mid] = await rows<{ status: string }>(t.database.db, sql`SELECT status FROM inbox_events WHERE provider_id = 'infra-1'`);
      expect(mid!.status).toBe("processing");
      expect(sent).toHaveLength(0);
      openGate();
      await waitFor(async () => (await rows<{ status: string }>(t.database.db, sql`SELECT status FROM inbox_events WHERE provider_id = 'infra-1'`))[0]?.status === "dead", 10_000, "dead-letter");
      await waitFor(() => sent.length === 1, 10_000, "the apology");
      expect(calls).toBe(6);
      expect(sent[0]!.body).toMatch(/^Sorry/);
    } finally {
      await dispatcher.stop();
      await outbox.stop();
    }
  });

  it("never runs two events of a user at once: an expired one is finished before a more urgent one starts", async () => {
    // A message whose worker died (lease expired) and a voice turn that came after it, more urgent.
    await event("crashed", "processing", null);
    await t.database.db.execute(sql`UPDATE inbox_events SET lease_token = 'gone:1', lease_expires_at = now() - interval '1 second', attempts = 1, created_at = now() - interval '1 minute' WHERE provider_id = 'crashed'`);
    await t.database.db.execute(sql`INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, priority) VALUES (${userId}, 'voice', 'voice.turn', 'urgent', '{}'::jsonb, 0)`);
    const queue = new LeasedQueue(INBOX_QUEUE, "claimer", 30);
    // The expired one comes back first; the urgent one waits for it (before, it started beside it).
    expect((await queue.claim(t.database.db, 10)).map((r) => r.provider_id)).toEqual(["crashed"]);
    expect(await queue.claim(t.database.db, 10)).toEqual([]);
    // And the database holds the rule: a second processing row of the user is refused.
    const refused = await t.database.db.execute(sql`UPDATE inbox_events SET status = 'processing' WHERE provider_id = 'urgent'`).then(
      () => "accepted",
      (err: { message: string; cause?: { message?: string } }) => err.cause?.message ?? err.message,
    );
    expect(refused).toMatch(/inbox_events_one_running_idx/);
    const [crashed] = await rows<{ id: string; lease_token: string }>(t.database.db, sql`SELECT id, lease_token FROM inbox_events WHERE provider_id = 'crashed'`);
    await t.database.db.execute(queue.completeSql(crashed!.id, crashed!.lease_token, sql`completed_at = now()`));
    expect((await queue.claim(t.database.db, 10)).map((r) => r.provider_id)).toEqual(["urgent"]);
  });

  it("retries a turn whose completion could not be recorded at once, not after its lease, and writes its reply once", async () => {
    const restore = await failUpdatesTo(t.database, "inbox_events", "done", 1);
    const outbox = new Outbox({ database: t.database, logger });
    const dispatcher = new Dispatcher({ database: t.database, outbox, logger, concurrency: 4, leaseSeconds: 30, pollIntervalMs: 30, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
    const runs: string[] = [];
    dispatcher.handle("message", async (e) => (runs.push(e.providerId), [{ userId: e.userId, channel: "whatsapp" as const, kind: "text" as const, body: "reply", inboxId: e.id }]));
    try {
      await t.database.db.transaction((tx) => new Inbox().enqueue(tx, { userId, channel: "whatsapp", kind: "message", providerId: "unrecorded", payload: {} }));
      await dispatcher.start();
      await waitFor(async () => (await rows(t.database.db, sql`SELECT 1 FROM inbox_events WHERE provider_id = 'unrecorded' AND status = 'done'`)).length === 1, 5000, "the event done");
      // The turn ran twice (the agent answers a repeated event id from its own record), the reply was written once.
      expect(runs).toEqual(["unrecorded", "unrecorded"]);
      const replies = await rows(t.database.db, sql`SELECT o.id FROM outbox o JOIN inbox_events e ON e.id = o.inbox_id WHERE e.provider_id = 'unrecorded'`);
      expect(replies).toHaveLength(1);
    } finally {
      await dispatcher.stop();
      await restore();
    }
  });

  it("takes back its own previous run's leases at once, and leaves another worker's alone", async () => {
    await event("mine", "processing", null, sql``);
    await t.database.db.execute(sql`UPDATE inbox_events SET lease_token = 'worker-a:1', lease_expires_at = now() + interval '1 hour', attempts = 1 WHERE provider_id = 'mine'`);
    const [{ id: other }] = (await t.database.db.insert(users).values({ name: "o" }).returning({ id: users.id })) as [{ id: string }];
    await t.database.db.execute(sql`INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, status, lease_token, lease_expires_at, attempts)
      VALUES (${other}, 'whatsapp', 'message', 'theirs', '{}'::jsonb, 'processing', 'worker-b:1', now() + interval '1 hour', 1)`);
    const outbox = new Outbox({ database: t.database, logger });
    const handled: string[] = [];
    const dispatcher = new Dispatcher({ database: t.database, outbox, logger, concurrency: 4, leaseSeconds: 30, pollIntervalMs: 30, workerId: "worker-a", retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
    dispatcher.handle("message", async (e) => void handled.push(e.providerId));
    await dispatcher.start();
    try {
      await waitFor(() => handled.length === 1, 10_000, "the reclaimed event");
      await sleep(200);
      expect(handled).toEqual(["mine"]);
      const r = await rows<{ provider_id: string; status: string }>(t.database.db, sql`SELECT provider_id, status FROM inbox_events WHERE provider_id IN ('mine', 'theirs') ORDER BY provider_id`);
      expect(r).toEqual([{ provider_id: "mine", status: "done" }, { provider_id: "theirs", status: "processing" }]);
    } finally {
      await dispatcher.stop();
    }
  });
});

const describePostgres = process.env.DATABASE_URL ? describe : describe.skip;
describePostgres("LISTEN on PostgreSQL", () => {
  it("audit 15.15: re-establishes a LISTEN connection the server dropped, says so, and delivers again", async () => {
    const t = await createTestDatabase("postgres");
    const lines: string[] = [];
    const log = createLogger({ level: "info", destination: { write: (s: string) => void lines.push(s) } });
    let database: Database | undefined;
    try {
      database = await openDatabase({ databaseUrl: t.url!, dataDir: ":memory:", logger: log });
      const got: string[] = [];
      await database.listen("q_test", (p) => got.push(p));
      // What a PostgreSQL restart does to the connection: the server ends it.
      await t.database.db.execute(sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`);
      await waitFor(() => lines.some((l) => l.includes("LISTEN connection re-established")), 15_000, "the reconnect");
      expect(lines.some((l) => l.includes("LISTEN connection lost"))).toBe(true);
      expect(got).toContain(""); // the wake-up for notifications missed meanwhile
      await t.database.db.execute(sql`SELECT pg_notify('q_test', 'after')`);
      await waitFor(() => got.includes("after"), 5000, "a notification after the reconnect");
    } finally {
      await database?.close();
      await t.cleanup();
    }
  }, 30_000);
});
