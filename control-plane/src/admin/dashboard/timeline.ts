import { sql } from "drizzle-orm";
import { rows, type Executor } from "../../db/database";
import { iso } from "../../inbox/inbox";

/**
 * One user's message timeline for the operator: every message both ways with its delivery state
 * and error, each inbound message joined to the inbox event that carried it to the agent (so "what
 * happened to my message" has one answer: pending, processing, done or dead, after how many
 * attempts, with the last error), plus the events that had no message (heartbeats, alarms, calls).
 */
export interface TimelineEntry {
  at: string;
  kind: "message" | "event";
  /** message: "in" from the user, "out" to them; event: "in". */
  direction: "in" | "out";
  channel: string;
  /** The message text, or the event kind for an event without one. */
  text: string;
  /** message: received, queued, sent, delivered, read, played, held, failed; event: its inbox status. */
  status: string;
  error: string | null;
  providerId: string | null;
  /** The inbox event's progress, for inbound messages and events. */
  turn: { kind: string; status: string; attempts: number; lastError: string | null } | null;
}

export async function userTimeline(db: Executor, userId: string, limit: number): Promise<TimelineEntry[]> {
  const messages = await rows<Record<string, unknown>>(
    db,
    sql`SELECT m.direction, m.channel, m.provider_id, m.content, m.status, m.error_code, m.error_message, m.created_at,
               e.kind AS turn_kind, e.status AS turn_status, e.attempts AS turn_attempts, e.last_error AS turn_error
        FROM messages m
        LEFT JOIN inbox_events e ON m.direction = 'in' AND e.channel = m.channel AND e.provider_id = m.provider_id
        WHERE m.user_id = ${userId}
        ORDER BY m.created_at DESC, m.id DESC LIMIT ${limit}`,
  );
  const events = await rows<Record<string, unknown>>(
    db,
    sql`SELECT e.kind, e.channel, e.provider_id, e.status, e.attempts, e.last_error, e.created_at
        FROM inbox_events e
        WHERE e.user_id = ${userId}
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.channel = e.channel AND m.provider_id = e.provider_id)
        ORDER BY e.created_at DESC, e.seq DESC LIMIT ${limit}`,
  );
  const entries: TimelineEntry[] = [
    ...messages.map((m) => ({
      at: iso(m.created_at)!,
      kind: "message" as const,
      direction: m.direction === "out" ? ("out" as const) : ("in" as const),
      channel: String(m.channel),
      text: String(m.content),
      status: String(m.status),
      error: m.error_code || m.error_message ? [m.error_code, m.error_message].filter(Boolean).join(": ") : null,
      providerId: (m.provider_id as string | null) ?? null,
      turn: m.turn_status ? { kind: String(m.turn_kind), status: String(m.turn_status), attempts: Number(m.turn_attempts), lastError: (m.turn_error as string | null) ?? null } : null,
    })),
    ...events.map((e) => ({
      at: iso(e.created_at)!,
      kind: "event" as const,
      direction: "in" as const,
      channel: String(e.channel),
      text: String(e.kind),
      status: String(e.status),
      error: (e.last_error as string | null) ?? null,
      providerId: String(e.provider_id),
      turn: { kind: String(e.kind), status: String(e.status), attempts: Number(e.attempts), lastError: (e.last_error as string | null) ?? null },
    })),
  ];
  // Newest `limit` of both, shown oldest first like a chat. A reply's row is created after the
  // message it answers, so equal timestamps keep inbound before outbound.
  entries.sort((a, b) => b.at.localeCompare(a.at) || (a.direction === b.direction ? 0 : a.direction === "out" ? -1 : 1));
  return entries.slice(0, limit).reverse();
}
