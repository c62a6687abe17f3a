import { sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import { rows, type Db } from "../../db/database";
import { enqueueCtes } from "../../inbox/inbox";
import type { InboundMessagePayload, NewInboundEvent } from "../../inbox/types";
import type { Logger } from "../../logger";
import type { InboxPort, OutboxPort } from "../channel";
import type { ParsedMessage } from "./payload";
import { HELD_MESSAGE, releaseHeldMessages } from "./held-messages";
import { findOrCreateWhatsAppUser, findWhatsAppUserSql, touchLastInbound, type NewUserDefaults } from "./users";

/** The short answer to a message type the assistant cannot read yet (sticker, video, contacts…). */
export const UNSUPPORTED_REPLY = "Sorry, I can't read that kind of message yet. Could you send it as text, a voice note or a photo?";

/**
 * The payload of a kind "message" inbox event from WhatsApp, the one shape from webhook to
 * chat.send: chat.send's fields (text, spoken, attachments, sentAt, senderName) plus what the turn
 * needs to finish preparing it. A voice note arrives with empty text and `whatsapp.transcribe`; the
 * turn preparer fills the text in.
 */
export interface WhatsAppMessagePayload extends InboundMessagePayload {
  whatsapp: { wamid: string; type: string; transcribe?: { mediaId: string; mimeType?: string } };
}

export interface InboundRecorderOptions {
  db: Db;
  inbox: InboxPort;
  /** Where the short answer to an unsupported type goes, and held messages when their user writes. */
  outbox?: OutboxPort;
  clock: Clock;
  logger: Logger;
  newUserDefaults?: NewUserDefaults;
}

export interface RecordResult {
  recorded: number;
  duplicates: number;
  skipped: number;
}

/**
 * Records a webhook's messages in ONE transaction: for each, the user (created on first contact),
 * a messages row and an inbox row, deduplicated on the wamid. The webhook answers 200 only after
 * this commits, so Meta redelivers anything we failed to store, and a redelivery is a no-op.
 *
 * The common webhook (one message the agent can read, from a new user or a known one with nothing
 * held) is one
 * statement instead of a transaction of eight: each statement is a socket write that wakes
 * PostgreSQL, and those dominated the control plane's CPU per turn (docs/routing.md).
 */
export class InboundRecorder {
  private readonly log: Logger;
  constructor(private readonly opts: InboundRecorderOptions) {
    this.log = opts.logger.child({ component: "whatsapp-inbound" });
  }

  async record(messages: ParsedMessage[]): Promise<RecordResult> {
    const result: RecordResult = { recorded: 0, duplicates: 0, skipped: 0 };
    if (messages.length === 0) return result;
    const now = this.opts.clock.now();
    const quick = messages.length === 1 ? await this.recordCommon(messages[0]!, now) : undefined;
    if (quick) {
      this.log.debug(quick, "webhook messages recorded");
      return quick;
    }
    await this.opts.db.transaction(async (tx) => {
      const wroteUsers = new Set<string>();
      for (const m of messages) {
        if (!m.waId && !m.bsuid) {
          this.log.warn({ wamid: m.wamid, type: m.type }, "message without a sender id; skipped");
          result.skipped++;
          continue;
        }
        const user = await findOrCreateWhatsAppUser(tx, { waId: m.waId, bsuid: m.bsuid, name: m.name }, this.opts.newUserDefaults);
        const inserted = await rows<{ id: string }>(
          tx,
          sql`INSERT INTO messages (user_id, direction, channel, provider_id, content, status, created_at, updated_at)
              VALUES (${user.id}, 'in', 'whatsapp', ${m.wamid}, ${m.summary}, 'received', ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)
              ON CONFLICT (channel, provider_id) DO NOTHING
              RETURNING id`,
          "whatsapp.inbound.message",
        );
        if (!inserted[0]) {
          result.duplicates++;
          continue;
        }
        result.recorded++;
        if (m.silent) continue; // a system notice opens no window and asks for no answer
        await touchLastInbound(tx, user.id, windowStart(m, now));
        wroteUsers.add(user.id);

        if (!m.known) {
          // Stored (above) and answered briefly, without waking the agent for something it cannot read.
          if (this.opts.outbox) {
            await this.opts.outbox.enqueue(tx, [{ userId: user.id, channel: "whatsapp", kind: "text", body: UNSUPPORTED_REPLY, meta: { replyTo: m.wamid } }]);
          }
          continue;
        }
        let text = m.text;
        if (m.reaction) {
          // Removing a reaction needs no answer (it still opened the window above). A reaction can
          // be an answer ("👍" to "Shall I book it?"), so the agent sees what was reacted to.
          if (!m.reaction.emoji) continue;
          const [target] = await rows<{ content: string }>(
            tx,
            sql`SELECT content FROM messages WHERE channel = 'whatsapp' AND provider_id = ${m.reaction.messageId} AND user_id = ${user.id} LIMIT 1`,
          );
          if (target) text = `[reacted ${m.reaction.emoji} to: "${target.content.slice(0, 300)}"]`;
        }
        await this.opts.inbox.enqueue(tx, { userId: user.id, ...inboxEvent(m, text, now) });
      }
      // The window is open again: what waited for it goes out, in this transaction.
      const outbox = this.opts.outbox;
      if (outbox) for (const userId of wroteUsers) await releaseHeldMessages(tx, userId, outbox, now);
    });
    if (result.recorded || result.duplicates) this.log.debug(result, "webhook messages recorded");
    return result;
  }

  /**
   * The common case as one data-modifying statement (atomic without BEGIN/COMMIT): find the user
   * (or create them on first contact), insert the messages row (the wamid dedupes), extend the
   * window and enqueue the inbox event with its NOTIFY. Its `fits` gate makes the statement write
   * nothing, and the caller take the general path, when the user has an identifier to fill in, has
   * held messages (whose release must share the transaction that records the message) or was
   * created by another webhook at the same moment. Undefined means "not handled here".
   */
  private async recordCommon(m: ParsedMessage, now: Date): Promise<RecordResult | undefined> {
    if ((!m.waId && !m.bsuid) || !m.known || m.silent || m.reaction) return undefined;
    const stamp = now.toISOString();
    const opened = windowStart(m, now).toISOString();
    const defaults = this.opts.newUserDefaults ?? {};
    // A free slot of this process's dispatcher: the event is written already processing and runs
    // from here (no NOTIFY, no claim) when the user has nothing else open.
    const turn = this.opts.inbox.reserveTurn?.();
    let r: { fits: boolean; inserted: boolean; leased?: Record<string, unknown> | null } | undefined;
    try {
      [r] = await rows<{ fits: boolean; inserted: boolean; leased?: Record<string, unknown> | null }>(
        this.opts.db,
        sql`WITH found AS (${findWhatsAppUserSql(m, sql`id, bsuid, wa_id, phone`)}),
            -- First contact: the user is created here, with the window already open (a sibling
            -- CTE's update could not see the new row). A concurrent creation makes it a conflict:
            -- nobody is found or created, and the general path finds them.
            created AS (
              INSERT INTO users (wa_id, phone, bsuid, name, timezone, active_hours_start, active_hours_end, last_inbound_at)
              SELECT ${m.waId ?? null}::text, ${m.waId ?? null}::text, ${m.bsuid ?? null}::text, ${m.name ?? null}::text,
                     ${defaults.timezone ?? "UTC"}::text, ${defaults.activeHoursStart ?? "07:00"}::text, ${defaults.activeHoursEnd ?? "23:00"}::text,
                     ${opened}::timestamptz
              WHERE NOT EXISTS (SELECT 1 FROM found)
              ON CONFLICT DO NOTHING
              RETURNING id, bsuid, wa_id, phone),
            who AS (SELECT * FROM found UNION ALL SELECT * FROM created),
            fits AS (
              SELECT id FROM who
              WHERE (${m.bsuid ?? null}::text IS NULL OR bsuid IS NOT NULL)
                AND (${m.waId ?? null}::text IS NULL OR (wa_id IS NOT NULL AND phone IS NOT NULL))
                -- OFFSET 0: a per-user lookup, whatever a generic plan thinks of the table's size.
                AND NOT EXISTS (SELECT 1 FROM messages WHERE user_id = who.id AND ${HELD_MESSAGE} OFFSET 0)),
            message AS (
              INSERT INTO messages (user_id, direction, channel, provider_id, content, status, created_at, updated_at)
              SELECT id, 'in', 'whatsapp', ${m.wamid}, ${m.summary}, 'received', ${stamp}::timestamptz, ${stamp}::timestamptz FROM fits
              ON CONFLICT (channel, provider_id) DO NOTHING
              RETURNING user_id),
            touched AS (
              UPDATE users SET last_inbound_at = GREATEST(COALESCE(last_inbound_at, ${opened}::timestamptz), ${opened}::timestamptz),
                               undeliverable = false, name = COALESCE(${m.name ?? null}, name)
              FROM message WHERE users.id = message.user_id),
            ${enqueueCtes(sql`message`, inboxEvent(m, m.text, now), turn?.lease)}
            -- inbox_notified is read so that its NOTIFY runs.
            SELECT EXISTS (SELECT 1 FROM fits) AS fits, EXISTS (SELECT 1 FROM message) AS inserted,
                   (SELECT count(*) FROM inbox_notified) AS notified
                   ${turn ? sql`, (SELECT row_to_json(l) FROM inbox_leased l) AS leased` : sql``}`,
        "whatsapp.inbound.common",
      );
    } finally {
      turn?.take(r?.leased ?? undefined);
    }
    if (!r?.fits) return undefined;
    return r.inserted ? { recorded: 1, duplicates: 0, skipped: 0 } : { recorded: 0, duplicates: 1, skipped: 0 };
  }
}

/** The window runs from when the user sent it, never from the future. */
function windowStart(m: ParsedMessage, now: Date): Date {
  return m.sentAt && m.sentAt.getTime() < now.getTime() ? m.sentAt : now;
}

/** The inbox event (kind "message") for a WhatsApp message whose agent-facing text is `text`. */
function inboxEvent(m: ParsedMessage, text: string, now: Date): Omit<NewInboundEvent, "userId"> {
  const payload: WhatsAppMessagePayload = {
    text,
    ...(m.audio ? { spoken: true } : {}),
    ...(m.attachments.length ? { attachments: m.attachments } : {}),
    sentAt: (m.sentAt ?? now).toISOString(),
    ...(m.name ? { senderName: m.name } : {}),
    whatsapp: { wamid: m.wamid, type: m.type, ...(m.audio ? { transcribe: { mediaId: m.audio.mediaId, mimeType: m.audio.mimeType } } : {}) },
  };
  return { channel: "whatsapp", kind: "message", providerId: m.wamid, payload: { ...payload } };
}
