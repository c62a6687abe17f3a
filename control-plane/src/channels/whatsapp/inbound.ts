import { sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import { rows, type Db, type Tx } from "../../db/database";
import type { InboundMessagePayload } from "../../inbox/types";
import type { Logger } from "../../logger";
import type { InboxPort, OutboxPort } from "../channel";
import type { ParsedMessage } from "./payload";
import { findOrCreateWhatsAppUser, touchLastInbound, type NewUserDefaults } from "./users";

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
  outbox?: OutboxPort;
  /** Called in the same transaction when a user writes: held messages may go out now. */
  onUserWrote?: (tx: Tx, userId: string) => Promise<void>;
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
        );
        if (!inserted[0]) {
          result.duplicates++;
          continue;
        }
        result.recorded++;
        if (m.silent) continue; // a system notice opens no window and asks for no answer
        // The window runs from when the user sent it, never from the future.
        const sentAt = m.sentAt && m.sentAt.getTime() < now.getTime() ? m.sentAt : now;
        await touchLastInbound(tx, user.id, sentAt);
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
        const payload: WhatsAppMessagePayload = {
          text,
          ...(m.audio ? { spoken: true } : {}),
          ...(m.attachments.length ? { attachments: m.attachments } : {}),
          sentAt: (m.sentAt ?? now).toISOString(),
          ...(m.name ? { senderName: m.name } : {}),
          whatsapp: { wamid: m.wamid, type: m.type, ...(m.audio ? { transcribe: { mediaId: m.audio.mediaId, mimeType: m.audio.mimeType } } : {}) },
        };
        await this.opts.inbox.enqueue(tx, {
          userId: user.id,
          channel: "whatsapp",
          kind: "message",
          providerId: m.wamid,
          payload: { ...payload },
        });
      }
      for (const userId of wroteUsers) await this.opts.onUserWrote?.(tx, userId);
    });
    if (result.recorded || result.duplicates) this.log.debug(result, "webhook messages recorded");
    return result;
  }
}
