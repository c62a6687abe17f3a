import { sql } from "drizzle-orm";
import { createLogger } from "../src/logger";
import { rows } from "../src/db/database";
import { users } from "../src/db/schema";
import { Outbox, outboxInsertCtes } from "../src/outbox/outbox";
import type { SendReservation } from "../src/outbox/outbox-sender";
import type { NewOutboundMessage } from "../src/outbox/types";
import { Batcher } from "../src/queue/batcher";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { FakeProvider, fakeProviderAdapter } from "../../test-support/fake-provider";
import { sleep } from "../../test-support/fake-agent";
import { waitFor } from "../../test-support/wait-for";

const logger = createLogger({ level: "silent" });
const RETRY = { attempts: 4, baseDelayMs: 10, maxDelayMs: 100 };

describe("group commit (Batcher)", () => {
  it("runs an item at once and alone when nothing is in flight, and coalesces the items that arrive while it runs", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => i * 10);
    }, 1);
    const first = b.submit(1);
    await sleep(5);
    expect(batches).toEqual([[1]]);
    const later = [b.submit(2), b.submit(3), b.submit(4)];
    await sleep(5);
    expect(batches).toEqual([[1]]);
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("fails every item of a failed statement, and only those", async () => {
    let n = 0;
    const b = new Batcher<string, string>(async (items) => {
      if (n++ === 0) throw new Error("database away");
      return items;
    }, 1);
    const failed = b.submit("a");
    const next = b.submit("b");
    await expect(failed).rejects.toThrow("database away");
    await expect(next).resolves.toBe("b");
  });
});

describeEachDriver("outbox hand-off (rows written already leased to this process's sender)", (driver) => {
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

  // A poll of a minute: a row that needed a claim (a notification or the poll) would wait for it.
  const newOutbox = (o: { pollIntervalMs?: number; leaseMs?: number; workerId?: string } = {}) => {
    const outbox = new Outbox({ database: t.database, logger, retry: RETRY, pollIntervalMs: o.pollIntervalMs ?? 60_000, leaseMs: o.leaseMs, workerId: o.workerId, concurrency: 4 });
    outbox.registerAdapter(fakeProviderAdapter(provider.url));
    outboxes.push(outbox);
    return outbox;
  };
  const user = async () => (await t.database.db.insert(users).values({ waId: `49${Math.random().toString().slice(2, 14)}` }).returning())[0]!;
  const text = (userId: string, body: string): NewOutboundMessage => ({ userId, channel: "whatsapp", kind: "text", body });
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
    const o = newOutbox({ workerId: "w-handoff-a" });
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
    const o = newOutbox({ pollIntervalMs: 50 });
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
    const doomed = newOutbox({ workerId: "w-handoff-doomed", leaseMs: 400 });
    await doomed.start();
    const send = doomed.reserveSend("whatsapp");
    const leased = await writeLeased([text(u.id, "orphan")], send);
    expect(leased).toMatchObject({ status: "sending" });
    // The process dies between its statement and the hand-over: the row stays leased to it.
    send!.take(undefined);
    await doomed.stop();
    const survivor = newOutbox({ workerId: "w-handoff-survivor", pollIntervalMs: 50, leaseMs: 400 });
    await survivor.start();
    await waitFor(() => provider.sends.some((s) => s.to === u.waId), 5000, "the orphan sent");
    await sleep(600);
    expect(provider.sends.filter((s) => s.to === u.waId).map((s) => s.body)).toEqual(["orphan"]);
    expect((await statuses(u.id)).map((s) => s.status)).toEqual(["sent"]);
  });

  it("reserves no slot when the sender is not running or has no adapter for the channel", async () => {
    const o = newOutbox();
    expect(o.reserveSend("whatsapp")).toBeUndefined();
    await o.start();
    expect(o.reserveSend("console")).toBeUndefined();
    const send = o.reserveSend("whatsapp");
    expect(send).toBeDefined();
    send!.take(undefined);
  });
});
