import { sql } from "drizzle-orm";
import { rows, type Database, type Tx } from "../control-plane/src/db/database";
import type { Clock } from "../control-plane/src/clock";
import type { InboundEventRow, NewInboundEvent } from "../control-plane/src/inbox/types";
import type { NewOutboundMessage } from "../control-plane/src/outbox/types";

/**
 * A minimal inbox and dispatcher for scheduler tests, on the real database: rows unique on
 * (channel, provider_id) like the real inbox, one event per user at a time, a lease that expires,
 * and the handler's outbound messages written in the same transaction that completes the event.
 * It stands in for control-plane/src/inbox's Inbox and dispatcher (built in parallel) and keeps
 * the same enqueue(tx, NewInboundEvent) and handler(event) -> NewOutboundMessage[] seams.
 */
export type ProactiveHandler = (event: InboundEventRow) => Promise<NewOutboundMessage[]>;

export interface SentRow {
  userId: string;
  body: string;
  proactive: boolean;
  source: string | null;
  sentAt: Date;
  providerId: string;
}

export class HarnessInbox {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly leaseMs = 2000,
  ) {}

  async install(): Promise<void> {
    const db = this.database.db;
    await db.execute(sql`CREATE TABLE IF NOT EXISTS test_inbox (
      id bigserial PRIMARY KEY, user_id text NOT NULL, channel text NOT NULL, kind text NOT NULL,
      provider_id text NOT NULL, payload jsonb NOT NULL, status text NOT NULL DEFAULT 'pending',
      attempts int NOT NULL DEFAULT 0, lease_until timestamptz, created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (channel, provider_id))`);
    await db.execute(sql`CREATE TABLE IF NOT EXISTS test_outbox (
      id bigserial PRIMARY KEY, user_id text NOT NULL, body text NOT NULL, proactive boolean NOT NULL,
      source text, provider_id text NOT NULL, sent_at timestamptz NOT NULL)`);
  }

  readonly enqueue = async (tx: Tx, e: NewInboundEvent): Promise<boolean> => {
    const r = await rows(
      tx,
      sql`INSERT INTO test_inbox (user_id, channel, kind, provider_id, payload)
          VALUES (${e.userId}, ${e.channel}, ${e.kind}, ${e.providerId}, ${JSON.stringify(e.payload)}::jsonb)
          ON CONFLICT (channel, provider_id) DO NOTHING RETURNING id`,
    );
    return r.length > 0;
  };

  /** Works every claimable event once, oldest first; returns how many ran. Bounded. */
  async drain(handlers: Record<string, ProactiveHandler>, max = 500): Promise<number> {
    let ran = 0;
    for (; ran < max; ran++) {
      const job = await this.claim();
      if (!job) break;
      const handler = handlers[job.kind];
      try {
        const out = handler ? await handler(job) : [];
        await this.database.db.transaction(async (tx) => {
          for (const m of out) {
            await tx.execute(
              sql`INSERT INTO test_outbox (user_id, body, proactive, source, provider_id, sent_at)
                  VALUES (${m.userId}, ${m.body}, ${m.proactive ?? false}, ${(m.meta?.source as string) ?? null}, ${job.providerId}, ${this.clock.now().toISOString()}::timestamptz)`,
            );
          }
          await tx.execute(sql`UPDATE test_inbox SET status = 'done', lease_until = NULL WHERE id = ${job.id}::bigint`);
        });
      } catch {
        await this.database.db.execute(sql`UPDATE test_inbox SET status = 'pending', lease_until = NULL WHERE id = ${job.id}::bigint`);
      }
    }
    return ran;
  }

  private async claim(): Promise<InboundEventRow | undefined> {
    const now = this.clock.now().toISOString();
    const until = new Date(this.clock.now().getTime() + this.leaseMs).toISOString();
    const [r] = await rows<{ id: string; user_id: string; channel: string; kind: string; provider_id: string; payload: Record<string, unknown>; attempts: number; created_at: string }>(
      this.database.db,
      sql`UPDATE test_inbox SET status = 'processing', attempts = attempts + 1, lease_until = ${until}::timestamptz
          WHERE id = (SELECT i.id FROM test_inbox i
                       WHERE (i.status = 'pending' OR (i.status = 'processing' AND i.lease_until < ${now}::timestamptz))
                         AND NOT EXISTS (SELECT 1 FROM test_inbox o WHERE o.user_id = i.user_id AND o.id < i.id AND o.status <> 'done')
                       ORDER BY i.id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, user_id, channel, kind, provider_id, payload, attempts, created_at`,
    );
    if (!r) return undefined;
    return {
      id: String(r.id),
      userId: r.user_id,
      channel: r.channel as never,
      kind: r.kind as never,
      providerId: r.provider_id,
      payload: typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload,
      priority: 100,
      attempts: Number(r.attempts),
      createdAt: new Date(r.created_at),
    };
  }

  async sent(userId?: string): Promise<SentRow[]> {
    const r = await rows<{ user_id: string; body: string; proactive: boolean; source: string | null; sent_at: string | Date; provider_id: string }>(
      this.database.db,
      userId ? sql`SELECT * FROM test_outbox WHERE user_id = ${userId} ORDER BY id` : sql`SELECT * FROM test_outbox ORDER BY id`,
    );
    return r.map((x) => ({ userId: x.user_id, body: x.body, proactive: x.proactive, source: x.source, sentAt: new Date(x.sent_at), providerId: x.provider_id }));
  }

  async events(kind?: string): Promise<{ userId: string; kind: string; providerId: string; status: string; attempts: number }[]> {
    const r = await rows<{ user_id: string; kind: string; provider_id: string; status: string; attempts: number }>(
      this.database.db,
      kind ? sql`SELECT * FROM test_inbox WHERE kind = ${kind} ORDER BY id` : sql`SELECT * FROM test_inbox ORDER BY id`,
    );
    return r.map((x) => ({ userId: x.user_id, kind: x.kind, providerId: x.provider_id, status: x.status, attempts: Number(x.attempts) }));
  }
}
