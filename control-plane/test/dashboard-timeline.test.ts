import { sql } from "drizzle-orm";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { rows } from "../src/db/database";
import { userTimeline } from "../src/admin/dashboard";

describeEachDriver("the user page's message timeline", (driver) => {
  let t: TestDatabase;
  let userId: string;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
    const db = t.database.db;
    [{ id: userId }] = (await rows<{ id: string }>(db, sql`INSERT INTO users (phone) VALUES ('15550100199') RETURNING id`)) as [{ id: string }];
    const [other] = await rows<{ id: string }>(db, sql`INSERT INTO users (phone) VALUES ('15550100200') RETURNING id`);
    const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s)).toISOString();
    // A message the agent answered, a reply that failed at Meta, a message whose turn died,
    // and a heartbeat (an event with no message). Another user's row must not show.
    await t.database.db.execute(sql`
      INSERT INTO messages (user_id, direction, channel, provider_id, content, status, error_code, error_message, created_at, updated_at) VALUES
        (${userId}, 'in',  'whatsapp', 'wamid.A', 'add task milk', 'received', NULL, NULL, ${at(1)}::timestamptz, ${at(1)}::timestamptz),
        (${userId}, 'out', 'whatsapp', 'wamid.B', 'Added task #1: milk.', 'failed', '131026', 'Message Undeliverable', ${at(1)}::timestamptz, ${at(3)}::timestamptz),
        (${userId}, 'in',  'whatsapp', 'wamid.C', 'still there?', 'received', NULL, NULL, ${at(5)}::timestamptz, ${at(5)}::timestamptz),
        (${other!.id}, 'in', 'whatsapp', 'wamid.Z', 'not yours', 'received', NULL, NULL, ${at(2)}::timestamptz, ${at(2)}::timestamptz)`);
    await t.database.db.execute(sql`
      INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, status, attempts, last_error, created_at) VALUES
        (${userId}, 'whatsapp', 'message', 'wamid.A', '{}'::jsonb, 'done', 1, NULL, ${at(1)}::timestamptz),
        (${userId}, 'whatsapp', 'message', 'wamid.C', '{}'::jsonb, 'dead', 5, 'the agent did not answer', ${at(5)}::timestamptz),
        (${userId}, 'scheduler', 'heartbeat', 'hb:2026-11-21T10:00', '{}'::jsonb, 'pending', 0, NULL, ${at(4)}::timestamptz)`);
  }, 60_000);
  afterAll(() => t?.cleanup());

  it("interleaves messages and events oldest first, with delivery errors and each turn's fate", async () => {
    const entries = await userTimeline(t.database.db, userId, 100);
    expect(entries.map((e) => [e.kind, e.direction, e.text, e.status, e.error, e.turn?.status ?? null])).toEqual([
      ["message", "in", "add task milk", "received", null, "done"],
      // Same timestamp as the message it answers: the reply still comes after it.
      ["message", "out", "Added task #1: milk.", "failed", "131026: Message Undeliverable", null],
      ["event", "in", "heartbeat", "pending", null, "pending"],
      ["message", "in", "still there?", "received", null, "dead"],
    ]);
    expect(entries[3]!.turn).toEqual({ kind: "message", status: "dead", attempts: 5, lastError: "the agent did not answer" });
  });

  it("keeps the newest entries when limited", async () => {
    const entries = await userTimeline(t.database.db, userId, 2);
    expect(entries.map((e) => e.text)).toEqual(["heartbeat", "still there?"]);
  });
});
