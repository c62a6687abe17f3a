import { sql } from "drizzle-orm";
import { rows, type Tx } from "../../db/database";
import type { OutboxPort } from "../channel";

/** error_code of a held message that has been queued again. */
export const RELEASED_CODE = "released";

/**
 * A messages row waiting for the window to open again (a predicate on the messages table): the
 * generated column `held` (status "held", or "failed" with HELD_CODE; schema/messages.ts), which
 * the partial index `messages_held_idx` covers, so the check reads held rows only, not history.
 */
export const HELD_MESSAGE = sql`held`;

/**
 * Messages held outside the 24-hour window (status "held", or failed with code "held" when the
 * outbox recorded the adapter's refusal as a failure) go out again, in their original order, in
 * the same transaction that records the user's new message: the window is open again.
 */
export async function releaseHeldMessages(tx: Tx, userId: string, outbox: OutboxPort, now: Date): Promise<number> {
  const held = await rows<{ id: string; content: string }>(
    tx,
    sql`SELECT id, content FROM messages
        WHERE user_id = ${userId} AND ${HELD_MESSAGE}
        ORDER BY created_at, id
        FOR UPDATE`,
    "whatsapp.held",
  );
  for (const m of held) {
    await outbox.enqueue(tx, [{ userId, channel: "whatsapp", kind: "text", body: m.content, meta: { releasedFrom: m.id } }]);
    await tx.execute(sql`UPDATE messages SET status = 'failed', error_code = ${RELEASED_CODE},
                           error_message = 'held outside the 24-hour window; queued again when the user wrote',
                           updated_at = ${now.toISOString()}::timestamptz
                         WHERE id = ${m.id}`);
  }
  return held.length;
}
