/**
 * The claim statement's plan and cost with an empty history and with `doneRows` finished rows:
 * EXPLAIN (ANALYZE) of the real statement (LeasedQueue.claimSql), rolled back so nothing is
 * claimed. Used by `npm run bench -- route --explain`.
 */
import { sql } from "drizzle-orm";
import { rows, type Database } from "../src/db/database";
import { INBOX_QUEUE } from "../src/inbox/dispatcher";
import { LeasedQueue } from "../src/queue/leased-queue";

class Rollback extends Error {}

async function explain(database: Database, queue: LeasedQueue): Promise<{ plan: string; ms: number; findMs: number }> {
  let out = { plan: "", ms: NaN, findMs: NaN };
  await database.db
    .transaction(async (tx) => {
      const r = await rows<{ "QUERY PLAN": string }>(tx, sql`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${queue.claimSql(100)}`);
      const lines = r.map((x) => x["QUERY PLAN"]);
      const m = /Execution Time: ([\d.]+) ms/.exec(lines.join("\n"));
      // The first Limit is the CTE that finds the heads; the rest is writing the claimed rows.
      const f = /Limit \(actual time=[\d.]+\.\.([\d.]+)/.exec(lines.join("\n"));
      out = { plan: lines.join("\n"), ms: m ? Number(m[1]) : NaN, findMs: f ? Number(f[1]) : NaN };
      throw new Rollback();
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
  return out;
}

export async function explainClaim(database: Database, doneRows: number): Promise<string> {
  const queue = new LeasedQueue(INBOX_QUEUE, "bench", 10);
  await database.db.execute(sql`INSERT INTO users (name) SELECT 'bench-' || g FROM generate_series(1, 200) g`);
  // 200 open events, one per user: what the claim is there to find.
  await database.db.execute(sql`INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload)
    SELECT id, 'whatsapp', 'message', 'open-' || id, '{"text":"hi"}'::jsonb FROM users`);
  await database.db.execute(sql`ANALYZE inbox_events`);
  const runs = async () => {
    const xs: number[] = [];
    const fs: number[] = [];
    let plan = "";
    for (let i = 0; i < 5; i++) {
      const e = await explain(database, queue);
      xs.push(e.ms);
      fs.push(e.findMs);
      plan = e.plan;
    }
    xs.sort((a, b) => a - b);
    fs.sort((a, b) => a - b);
    return { median: xs[2]!, find: fs[2]!, plan };
  };
  const empty = await runs();
  // The history: finished rows spread over the same users, inserted in batches.
  for (let done = 0; done < doneRows; done += 100_000) {
    const n = Math.min(100_000, doneRows - done);
    await database.db.execute(sql`INSERT INTO inbox_events (user_id, channel, kind, provider_id, payload, status, completed_at, created_at)
      SELECT u.id, 'whatsapp', 'message', 'done-' || ${done} || '-' || g, '{"text":"old"}'::jsonb, 'done', now() - interval '1 day', now() - interval '2 days'
      FROM generate_series(1, ${n}) g JOIN (SELECT id, (row_number() OVER ()) - 1 AS k FROM users) u ON u.k = g % 200`);
  }
  await database.db.execute(sql`VACUUM ANALYZE inbox_events`);
  const [count] = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM inbox_events WHERE status = 'done'`);
  const full = await runs();
  return [
    "",
    `claim statement (LIMIT 100, 200 open heads), median of 5 EXPLAIN ANALYZE runs, ${database.driver}`,
    `  ${"done rows".padEnd(12)} ${"whole statement".padStart(16)} ${"finding the heads".padStart(18)}`,
    `  ${"0".padEnd(12)} ${`${empty.median.toFixed(3)} ms`.padStart(16)} ${`${empty.find.toFixed(3)} ms`.padStart(18)}`,
    `  ${String(count!.n).padEnd(12)} ${`${full.median.toFixed(3)} ms`.padStart(16)} ${`${full.find.toFixed(3)} ms`.padStart(18)}`,
    "plan with the history:",
    full.plan,
    "",
  ].join("\n");
}
