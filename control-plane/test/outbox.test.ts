import { sql } from "drizzle-orm";
import { createLogger } from "../src/logger";
import { rows } from "../src/db/database";
import { users } from "../src/db/schema";
import { Outbox, outboxInsertCtes } from "../src/outbox/outbox";
import { OUTBOX_QUEUE, recordSentSql, type SendReservation, type SentRecord } from "../src/outbox/outbox-sender";
import { LeasedQueue } from "../src/queue/leased-queue";
import { Client } from "pg";
import type { NewOutboundMessage } from "../src/outbox/types";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { FakeProvider, fakeProviderAdapter } from "../../test-support/fake-provider";
import { sleep } from "../../test-support/fake-agent";
import { waitFor } from "../../test-support/wait-for";
import { failUpdatesTo } from "../../test-support/failing-updates";

const logger = createLogger({ level: "silent" });
const RETRY = { attempts: 4, baseDelayMs: 10, maxDelayMs: 100 };

describeEachDriver("outbox sender", (driver) => {
  let t: TestDatabase;
  let provider: FakeProvider;
  const outboxes: Outbox[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(driver);
  });
  afterAll(async () => {
    await t.cleanup();
  });
  beforeEach(async () => {
    provider = await new FakeProvider().start();
  });
  afterEach(async () => {
    for (const o of outboxes.splice(0)) await o.stop();
    await provider.stop();
  });

  const newOutbox = (o: { pollIntervalMs?: number; leaseMs?: number; workerId?: string } = {}) => {
    const outbox = new Outbox({ database: t.database, logger, retry: RETRY, pollIntervalMs: o.pollIntervalMs ?? 30, leaseMs: o.leaseMs, workerId: o.workerId, concurrency: 4 });
    outboxes.push(outbox);
    return outbox;
  };
  const user = async () => (await t.database.db.insert(users).values({ waId: `49${Math.random().toString().slice(2, 14)}` }).returning())[0]!;
  const text = (userId: string, body: string): NewOutboundMessage => ({ userId, channel: "whatsapp", kind: "text", body });

  it("sends one user's messages in the order they were written, and marks them sent", async () => {
    const u = await user();
    const o = newOutbox();
    o.registerAdapter(fakeProviderAdapter(provider.url));
    await t.database.db.transaction((tx) => o.enqueue(tx, ["one", "two", "three", "four"].map((b) => text(u.id, b))));
    await o.start();
    await waitFor(() => provider.sends.filter((s) => s.to === u.waId).length === 4, 5000, "four sends");
    expect(provider.sends.filter((s) => s.to === u.waId).map((s) => s.body)).toEqual(["one", "two", "three", "four"]);
    await waitFor(async () => (await rows(t.database.db, sql`SELECT 1 FROM messages WHERE user_id = ${u.id} AND status = 'sent'`)).length === 4, 3000, "messages sent");
    const ms = await rows<{ provider_id: string }>(t.database.db, sql`SELECT provider_id FROM messages WHERE user_id = ${u.id} ORDER BY created_at`);
    expect(ms.every((m) => /^prov-/.test(m.provider_id))).toBe(true);
  });

  it("retries a rate-limited or failing provider, keeping the order", async () => {
    const u = await user();
    provider.failNext(429, 1, 0);
    provider.failNext(503, 1);
    const o = newOutbox();
    o.registerAdapter(fakeProviderAdapter(provider.url));
    await o.start();
    await t.database.db.transaction((tx) => o.enqueue(tx, [text(u.id, "first"), text(u.id, "second")]));
    await waitFor(() => provider.sends.filter((s) => s.to === u.waId).length === 2, 5000, "both sends");
    expect(provider.sends.map((s) => s.body)).toEqual(["first", "second"]);
    const [r] = await rows<{ attempts: number; status: string }>(t.database.db, sql`SELECT attempts, status FROM outbox WHERE user_id = ${u.id} AND body = 'first'`);
    expect(r).toMatchObject({ attempts: 3, status: "sent" });
  });

  it("sends once when recording the send fails after the provider accepted it (a deadlock victim): the retry only records", async () => {
    // The completion statement is aborted the way PostgreSQL aborts a deadlock victim, twice.
    const restore = await failUpdatesTo(t.database, "outbox", "sent", 2);
    try {
      const u = await user();
      const o = newOutbox();
      // Counted at the adapter: the fake provider itself folds a repeat of an idempotency key into one.
      const inner = fakeProviderAdapter(provider.url);
      const calls: string[] = [];
      o.registerAdapter({ ...inner, send: (row, to) => (calls.push(row.body), inner.send(row, to)) });
      await o.start();
      await t.database.db.transaction((tx) => o.enqueue(tx, [text(u.id, "once"), text(u.id, "after")]));
      await waitFor(async () => (await rows(t.database.db, sql`SELECT 1 FROM outbox WHERE user_id = ${u.id} AND status = 'sent'`)).length === 2, 5000, "both recorded");
      await sleep(100);
      expect(calls).toEqual(["once", "after"]);
      expect(provider.sends.filter((s) => s.to === u.waId).map((s) => s.body)).toEqual(["once", "after"]);
      const r = await rows<{ body: string; attempts: number; provider_id: string; message_status: string; message_provider_id: string }>(
        t.database.db,
        sql`SELECT o.body, o.attempts, o.provider_id, m.status AS message_status, m.provider_id AS message_provider_id
            FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.user_id = ${u.id} ORDER BY o.seq`,
      );
      expect(r[0]).toMatchObject({ body: "once", attempts: 3, message_status: "sent" });
      expect(r[0]!.provider_id).toBe(r[0]!.message_provider_id);
      expect(r[0]!.provider_id).toMatch(/^prov-/);
      expect(r[1]).toMatchObject({ body: "after", attempts: 1, message_status: "sent" });
    } finally {
      await restore();
    }
  });

  it("sends once when its lease was taken over while the provider answered: the id stays on the messages row for the next holder", async () => {
    const u = await user();
    const o = newOutbox();
    const inner = fakeProviderAdapter(provider.url);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const calls: string[] = [];
    o.registerAdapter({ ...inner, send: async (row, to) => (calls.push(row.body), await gate, inner.send(row, to)) });
    await o.start();
    const [id] = await t.database.db.transaction((tx) => o.enqueue(tx, [text(u.id, "slow")]));
    await waitFor(async () => calls.length === 1, 5000, "the send at the provider");
    // Another sender took the row over (as after an expired lease) while the provider was answering.
    await t.database.db.execute(sql`UPDATE outbox SET lease_token = 'thief:1', lease_expires_at = now() + interval '1 hour' WHERE id = ${id!}`);
    open();
    const kept = await waitFor(async () => {
      const [m] = await rows<{ provider_id: string | null; status: string }>(t.database.db, sql`SELECT m.provider_id, m.status FROM messages m JOIN outbox o ON o.message_id = m.id WHERE o.id = ${id!}`);
      return m?.provider_id ? m : undefined;
    }, 5000, "the accepted id on the messages row");
    expect(kept).toMatchObject({ provider_id: expect.stringMatching(/^prov-/), status: "queued" });
    const [stolen] = await rows<{ status: string; lease_token: string }>(t.database.db, sql`SELECT status, lease_token FROM outbox WHERE id = ${id!}`);
    expect(stolen).toMatchObject({ status: "sending", lease_token: "thief:1" });
    // The other holder dies; the row is claimed again and recorded with that id, not sent again.
    await t.database.db.execute(sql`UPDATE outbox SET lease_expires_at = now() - interval '1 second' WHERE id = ${id!}`);
    await waitFor(async () => (await rows(t.database.db, sql`SELECT 1 FROM outbox WHERE id = ${id!} AND status = 'sent'`)).length === 1, 5000, "recorded");
    const [done] = await rows<{ provider_id: string; attempts: number; message_status: string }>(
      t.database.db,
      sql`SELECT o.provider_id, o.attempts, m.status AS message_status FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id = ${id!}`,
    );
    expect(done).toMatchObject({ provider_id: kept.provider_id, attempts: 2, message_status: "sent" });
    expect(calls).toEqual(["slow"]);
    expect(provider.sends.filter((s) => s.to === u.waId).map((s) => s.body)).toEqual(["slow"]);
  });

  it("fails a refused message at once with its error code, and moves on to the next", async () => {
    const u = await user();
    provider.failNext(400);
    const o = newOutbox();
    o.registerAdapter(fakeProviderAdapter(provider.url));
    await o.start();
    await t.database.db.transaction((tx) => o.enqueue(tx, [text(u.id, "bad"), text(u.id, "good")]));
    await waitFor(() => provider.sends.some((s) => s.body === "good"), 5000, "the next message");
    const ms = await rows<{ content: string; status: string; error_code: string | null }>(
      t.database.db,
      sql`SELECT content, status, error_code FROM messages WHERE user_id = ${u.id} ORDER BY created_at, content`,
    );
    await waitFor(async () => (await rows(t.database.db, sql`SELECT 1 FROM messages WHERE user_id = ${u.id} AND status = 'sent'`)).length === 1);
    expect(ms.find((m) => m.content === "bad")).toMatchObject({ status: "failed", error_code: "http_400" });
  });

  it("holds rows for a channel with no adapter until one is registered", async () => {
    const u = await user();
    const o = newOutbox();
    o.registerAdapter(fakeProviderAdapter(provider.url, "whatsapp"));
    await o.start();
    await t.database.db.transaction((tx) => o.enqueue(tx, [{ userId: u.id, channel: "voice", kind: "text", body: "call me" }, text(u.id, "hi")]));
    await waitFor(() => provider.sends.some((s) => s.body === "hi"), 3000, "the whatsapp row");
    await sleep(150);
    const [held] = await rows<{ status: string; attempts: number }>(t.database.db, sql`SELECT status, attempts FROM outbox WHERE user_id = ${u.id} AND channel = 'voice'`);
    expect(held).toMatchObject({ status: "pending", attempts: 0 });
    o.registerAdapter(fakeProviderAdapter(provider.url, "voice"));
    await waitFor(() => provider.sends.some((s) => s.body === "call me"), 3000, "the voice row");
  });

  it("two senders on one database never send a row twice and keep each user's order", async () => {
    const us = await Promise.all(Array.from({ length: 20 }, () => user()));
    const a = newOutbox();
    const b = newOutbox();
    for (const o of [a, b]) o.registerAdapter(fakeProviderAdapter(provider.url));
    await t.database.db.transaction(async (tx) => {
      for (let i = 0; i < 10; i++) for (const u of us) await a.enqueue(tx, [text(u.id, `${u.id}#${i}`)]);
    });
    await Promise.all([a.start(), b.start()]);
    // A generous limit: on a loaded machine PGlite alone can take 20 s for these 200 (what is
    // asserted is once each and in order, not how fast).
    await waitFor(() => provider.sends.length >= 200, 60_000, "200 sends");
    await sleep(200);
    expect(provider.sends).toHaveLength(200);
    expect(new Set(provider.sends.map((s) => s.ref)).size).toBe(200);
    for (const u of us) {
      expect(provider.sends.filter((s) => s.to === u.waId).map((s) => Number(s.body.split("#")[1]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  }, 90_000);

  describe("hand-off (rows written already leased to this process's sender)", () => {
    // A poll of a minute unless a test says otherwise: a row that needed a claim would wait for it.
    const handOffOutbox = (o: { pollIntervalMs?: number; leaseMs?: number; workerId?: string } = {}) => {
      const outbox = newOutbox({ pollIntervalMs: 60_000, ...o });
      outbox.registerAdapter(fakeProviderAdapter(provider.url));
      return outbox;
    };
    /** What the dispatcher does when it completes a turn: write the replies with the reservation's lease. */
    const writeLeased = async (messages: NewOutboundMessage[], send: SendReservation | undefined) => {
      const [r] = await rows<{ leased: Record<string, unknown> | null }>(
        t.database.db,
        sql`WITH ${outboxInsertCtes(messages, undefined, send?.lease)} SELECT ${send ? sql`(SELECT row_to_json(l) FROM outbox_leased l)` : sql`NULL::json`} AS leased`,
      );
      return r?.leased ?? undefined;
    };
    const statuses = async (userId: string) =>
      (await rows<{ body: string; status: string; lease_token: string | null }>(t.database.db, sql`SELECT body, status, lease_token FROM outbox WHERE user_id = ${userId} ORDER BY seq`));

    it("writes the first reply leased to the sender and sends it with no claim, the rest through the queue in order", async () => {
      const u = await user();
      const o = handOffOutbox({ workerId: "w-handoff-a" });
      await o.start();
      const send = o.reserveSend("whatsapp");
      expect(send).toBeDefined();
      const leased = await writeLeased([text(u.id, "one"), text(u.id, "two")], send);
      expect(leased).toMatchObject({ body: "one", status: "sending", attempts: 1 });
      expect(String(leased!.lease_token)).toMatch(/^w-handoff-a:/);
      const written = await statuses(u.id);
      expect(written.map((w) => w.status)).toEqual(["sending", "pending"]);
      send!.take(leased);
      // "two" is no head until "one" is sent; the sender then looks for it itself, poll or no poll.
      await waitFor(() => provider.sends.filter((s) => s.to === u.waId).length === 2, 5000, "both sends");
      expect(provider.sends.filter((s) => s.to === u.waId).map((s) => s.body)).toEqual(["one", "two"]);
      await waitFor(async () => (await statuses(u.id)).every((s) => s.status === "sent"), 3000, "rows sent");
    });

    it("writes a reply pending, not leased, while an earlier message of the same user and channel is unsent", async () => {
      const u = await user();
      const o = handOffOutbox({ pollIntervalMs: 50 });
      await t.database.db.transaction((tx) => o.enqueue(tx, [text(u.id, "earlier")]));
      // The earlier row waits for a retry an hour away, as after a provider's refusal.
      await t.database.db.execute(sql`UPDATE outbox SET next_attempt_at = now() + interval '1 hour' WHERE user_id = ${u.id}`);
      await o.start();
      const send = o.reserveSend("whatsapp");
      const leased = await writeLeased([text(u.id, "later")], send);
      send!.take(leased);
      expect(leased).toBeUndefined();
      expect((await statuses(u.id)).map((s) => [s.body, s.status])).toEqual([
        ["earlier", "pending"],
        ["later", "pending"],
      ]);
      await sleep(300);
      expect(provider.sends.filter((s) => s.to === u.waId)).toEqual([]);
      await t.database.db.execute(sql`UPDATE outbox SET next_attempt_at = now() WHERE user_id = ${u.id} AND body = 'earlier'`);
      await waitFor(() => provider.sends.filter((s) => s.to === u.waId).length === 2, 5000, "both sends");
      expect(provider.sends.filter((s) => s.to === u.waId).map((s) => s.body)).toEqual(["earlier", "later"]);
    });

    it("leaves a row whose writer died before handing it over to lease expiry: another sender sends it, once", async () => {
      const u = await user();
      const doomed = handOffOutbox({ workerId: "w-handoff-doomed", leaseMs: 400 });
      await doomed.start();
      const send = doomed.reserveSend("whatsapp");
      const leased = await writeLeased([text(u.id, "orphan")], send);
      expect(leased).toMatchObject({ status: "sending" });
      // The process dies between its statement and the hand-over: the row stays leased to it.
      send!.take(undefined);
      await doomed.stop();
      const survivor = handOffOutbox({ workerId: "w-handoff-survivor", pollIntervalMs: 50, leaseMs: 400 });
      await survivor.start();
      await waitFor(() => provider.sends.some((s) => s.to === u.waId), 5000, "the orphan sent");
      await sleep(600);
      expect(provider.sends.filter((s) => s.to === u.waId).map((s) => s.body)).toEqual(["orphan"]);
      expect((await statuses(u.id)).map((s) => s.status)).toEqual(["sent"]);
    });

    it("reserves no slot when the sender is not running or has no adapter for the channel", async () => {
      const o = handOffOutbox();
      expect(o.reserveSend("whatsapp")).toBeUndefined();
      await o.start();
      expect(o.reserveSend("console")).toBeUndefined();
      const send = o.reserveSend("whatsapp");
      expect(send).toBeDefined();
      send!.take(undefined);
    });
  });
});

const describePostgres = process.env.DATABASE_URL ? describe : describe.skip;
describePostgres("the send's record on PostgreSQL", () => {
  it("keeps a plan of key lookups when the tables grow after its generic plan was made (plan)", async () => {
    // A named statement keeps the generic plan it got while its tables were young. With the
    // messages update written as a join with the outbox CTE, that plan scanned every messages row
    // (5.5 ms at 50,000 rows, and growing); as a lookup by key it reads a few pages.
    const t = await createTestDatabase("postgres");
    const client = new Client({ connectionString: t.url });
    await client.connect();
    try {
      const db = t.database.db;
      const outbox = new Outbox({ database: t.database, logger, retry: RETRY });
      const [u] = await db.insert(users).values({ waId: "4915550001" }).returning();
      const ids = await db.transaction((tx) =>
        outbox.enqueue(tx, [
          { userId: u!.id, channel: "whatsapp", kind: "text", body: "young" },
          { userId: u!.id, channel: "whatsapp", kind: "text", body: "grown" },
        ]),
      );
      const queue = new LeasedQueue(OUTBOX_QUEUE, "plan-test", 10);
      const built = (record: SentRecord) => (db as unknown as { dialect: { sqlToQuery(q: unknown): { sql: string; params: unknown[] } } }).dialect.sqlToQuery(recordSentSql(queue, record));
      const record = (id: string): SentRecord => ({ id, token: "tok", providerId: `prov-${id}`, userId: u!.id, channel: "whatsapp" });
      await client.query(`PREPARE record_sent AS ${built(record(ids[0]!)).sql}`);
      const execute = (prefix: string, id: string) => {
        const q = built(record(id));
        return client.query(`${prefix} EXECUTE record_sent(${q.params.map((v) => client.escapeLiteral(String(v))).join(", ")})`);
      };
      // Young tables: past PostgreSQL's five custom plans, so the generic one is cached.
      for (let i = 0; i < 8; i++) await execute("", `00000000-0000-4000-8000-00000000000${i}`);
      await db.execute(sql`INSERT INTO messages (user_id, direction, channel, content, status, provider_id)
                           SELECT ${u!.id}, 'out', 'whatsapp', 'old', 'sent', 'old-' || i FROM generate_series(1, 20000) AS i`);
      await db.execute(sql`INSERT INTO outbox (user_id, channel, kind, body, status) SELECT ${u!.id}, 'whatsapp', 'text', 'old', 'sent' FROM generate_series(1, 20000) AS i`);
      await db.execute(sql`UPDATE outbox SET status = 'sending', lease_token = 'tok' WHERE id = ${ids[1]!}`);
      const [{ "QUERY PLAN": [plan] }] = (await execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)", ids[1]!)).rows;
      const nodes: string[] = [];
      const walk = (n: { "Node Type": string; "Relation Name"?: string; Plans?: unknown[] }) => {
        nodes.push(`${n["Node Type"]}${n["Relation Name"] ? ` on ${n["Relation Name"]}` : ""}`);
        for (const c of n.Plans ?? []) walk(c as typeof n);
      };
      walk(plan.Plan);
      expect(nodes.filter((n) => n.startsWith("Seq Scan"))).toEqual([]);
      expect(plan.Plan["Shared Hit Blocks"] + (plan.Plan["Shared Read Blocks"] ?? 0)).toBeLessThan(100);
      const [done] = await rows<{ status: string; message_status: string; provider_id: string }>(
        db,
        sql`SELECT o.status, m.status AS message_status, m.provider_id FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.id = ${ids[1]!}`,
      );
      expect(done).toEqual({ status: "sent", message_status: "sent", provider_id: `prov-${ids[1]}` });
    } finally {
      await client.end();
      await t.cleanup();
    }
  });
});
