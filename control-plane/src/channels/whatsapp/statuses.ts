import { sql } from "drizzle-orm";
import { rows, type Executor } from "../../db/database";
import type { ParsedStatus } from "./payload";

/**
 * Delivery states of an outbound message, ranked so a status webhook can only move a message
 * forward whatever order Meta's webhooks arrive in: read beats delivered beats sent. A failure
 * beats "sent" (Meta accepted it, then could not deliver) but not proof of arrival.
 */
export const STATUS_RANK: Record<string, number> = {
  queued: 0,
  held: 0,
  sent: 1,
  failed: 2,
  delivered: 3,
  read: 4,
  played: 5,
};

export const KNOWN_STATUSES = ["sent", "delivered", "read", "played", "failed"] as const;

const rankSql = sql`CASE status WHEN 'queued' THEN 0 WHEN 'held' THEN 0 WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 WHEN 'played' THEN 5 ELSE 0 END`;

export interface StatusOutcome {
  /** The messages row it moved, if it moved one. */
  messageId?: string;
  userId?: string;
  applied: boolean;
  /** No outbound message has this wamid (yet). */
  unknown: boolean;
}

/**
 * Moves the outbound message with this wamid to the status, in one statement, only if that is a
 * step forward. Returns what happened, so the caller can act on a failure's error code.
 */
export async function applyStatus(db: Executor, s: ParsedStatus, now: Date): Promise<StatusOutcome> {
  const rank = STATUS_RANK[s.status];
  if (rank === undefined) return { applied: false, unknown: false };
  const code = s.status === "failed" ? (s.error?.code !== undefined ? String(s.error.code) : "unknown") : null;
  const message = s.status === "failed" ? [s.error?.title, s.error?.details].filter(Boolean).join(": ") || null : null;
  const updated = await rows<{ id: string; user_id: string }>(
    db,
    sql`UPDATE messages
        SET status = ${s.status},
            error_code = CASE WHEN ${s.status} = 'failed' THEN ${code} ELSE error_code END,
            error_message = CASE WHEN ${s.status} = 'failed' THEN ${message} ELSE error_message END,
            updated_at = ${now.toISOString()}::timestamptz
        WHERE channel = 'whatsapp' AND direction = 'out' AND provider_id = ${s.wamid}
          AND ${rankSql} < ${rank}
        RETURNING id, user_id`,
    "whatsapp.status.apply",
  );
  if (updated[0]) return { applied: true, unknown: false, messageId: updated[0].id, userId: updated[0].user_id };
  const exists = await rows<{ id: string; user_id: string }>(
    db,
    sql`SELECT id, user_id FROM messages WHERE channel = 'whatsapp' AND direction = 'out' AND provider_id = ${s.wamid} LIMIT 1`,
    "whatsapp.status.find",
  );
  return { applied: false, unknown: exists.length === 0, messageId: exists[0]?.id, userId: exists[0]?.user_id };
}
