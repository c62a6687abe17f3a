import { sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import type { Db } from "../../db/database";
import type { Logger } from "../../logger";
import { SendError, type ChannelAdapter, type OutboundRow, type OutboundUser } from "../../outbox/types";
import type { GraphApiClient, Recipient } from "./graph-client";
import { GraphOutsideWindowError, GraphUndeliverableError, toSendError } from "./graph-errors";
import { WHATSAPP_TEXT_LIMIT } from "./split-message";
import { insideWindow } from "./users";

/** SendError codes this adapter uses beside Meta's numeric ones. */
export const HELD_CODE = "held"; // also spelled in the generated column messages.held (db/schema/messages.ts)
export const TOO_LONG_CODE = "too_long";
export const UNDELIVERABLE_CODE = "131026";

export interface WhatsAppAdapterOptions {
  graph: GraphApiClient;
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Proactive messages outside the 24-hour window: a template, or held until the user writes. */
  outsideWindow: "template" | "hold";
  template?: { name: string; language: string };
  /** Told each accepted wamid once the outbox recorded it on the messages row (StatusProcessor.replay). */
  onSent?: (wamid: string) => Promise<void>;
}

/** Template body parameters are limited in length; the rest of a long message waits in the chat. */
const TEMPLATE_PARAM_LIMIT = 1000;

/**
 * The outbox's adapter for WhatsApp: one outbox row → one Graph API send. It enforces the 24-hour
 * customer-service window for proactive rows (free-form text only inside it; outside, the
 * configured template or a hold), refuses text over 4096 characters (the dispatcher splits replies
 * with splitMessage into ordered rows), and turns Graph errors into SendErrors.
 */
export class WhatsAppAdapter implements ChannelAdapter {
  readonly channel = "whatsapp" as const;
  private readonly log: Logger;

  constructor(private readonly opts: WhatsAppAdapterOptions) {
    this.log = opts.logger.child({ component: "whatsapp-adapter" });
  }

  /**
   * Meta's "sent" webhook can overtake our own bookkeeping: a status for a wamid no messages row
   * carries yet is kept (StatusProcessor), and replayed here once the outbox has recorded the send.
   */
  async recorded(wamid: string): Promise<void> {
    await this.opts.onSent?.(wamid);
  }

  async send(row: OutboundRow, user: OutboundUser): Promise<{ providerId: string }> {
    if (user.undeliverable) throw new SendError("WhatsApp said this user cannot receive messages (131026)", false, UNDELIVERABLE_CODE);
    const to: Recipient = { waId: user.waId ?? user.phone, bsuid: user.bsuid };
    const last = user.lastInboundAt;

    try {
      if (row.kind === "template") return await this.sendTemplate(to, row);
      if (row.body.length > WHATSAPP_TEXT_LIMIT) {
        throw new SendError(`text is ${row.body.length} characters; split it with splitMessage first`, false, TOO_LONG_CODE);
      }
      if (row.proactive && !insideWindow(last, this.opts.clock.now())) return await this.outsideWindow(to, row);
      const replyTo = typeof row.meta?.replyTo === "string" ? row.meta.replyTo : undefined;
      const { wamid } = await this.opts.graph.sendText(to, row.body, { replyTo });
      return { providerId: wamid };
    } catch (err) {
      if (err instanceof GraphOutsideWindowError) {
        // Our clock thought the window was open, Meta's did not (or a reply waited too long).
        return this.outsideWindow(to, row);
      }
      if (err instanceof GraphUndeliverableError) await this.markUndeliverable(row.userId);
      throw toSendError(err);
    }
  }

  private async outsideWindow(to: Recipient, row: OutboundRow): Promise<{ providerId: string }> {
    if (this.opts.outsideWindow === "template" && this.opts.template) {
      this.log.info({ userId: row.userId, outboxId: row.id }, "outside the 24-hour window: sending the template");
      try {
        const { wamid } = await this.opts.graph.sendTemplate(to, { ...this.opts.template, bodyParameters: [templateParam(row.body)] });
        return { providerId: wamid };
      } catch (err) {
        if (err instanceof GraphUndeliverableError) await this.markUndeliverable(row.userId);
        throw toSendError(err);
      }
    }
    // Held: the row stays in the messages table as "held" and goes out when the user writes again.
    if (row.messageId) {
      await this.opts.db.execute(sql`UPDATE messages SET status = 'held', updated_at = ${this.opts.clock.now().toISOString()}::timestamptz WHERE id = ${row.messageId} AND status IN ('queued', 'held', 'failed')`);
    }
    this.log.info({ userId: row.userId, outboxId: row.id }, "outside the 24-hour window: message held until the user writes");
    throw new SendError("outside WhatsApp's 24-hour window; held until the user writes again", false, HELD_CODE);
  }

  private async sendTemplate(to: Recipient, row: OutboundRow): Promise<{ providerId: string }> {
    const t = row.meta?.template as { name?: unknown; language?: unknown; parameters?: unknown } | undefined;
    const name = typeof t?.name === "string" ? t.name : this.opts.template?.name;
    if (!name) throw new SendError("template row without a template name, and WHATSAPP_TEMPLATE_NAME is not set", false, "no_template");
    const language = typeof t?.language === "string" ? t.language : this.opts.template?.language ?? "en";
    const parameters = Array.isArray(t?.parameters) ? t.parameters.map(String) : row.body ? [templateParam(row.body)] : [];
    const { wamid } = await this.opts.graph.sendTemplate(to, { name, language, bodyParameters: parameters });
    return { providerId: wamid };
  }

  private async markUndeliverable(userId: string): Promise<void> {
    await this.opts.db.execute(sql`UPDATE users SET undeliverable = true WHERE id = ${userId}`);
    this.log.warn({ userId }, "WhatsApp says this user cannot receive messages; marked undeliverable");
  }
}

/** Meta rejects template parameters with newlines, tabs or more than four spaces in a row. */
export function templateParam(text: string): string {
  const flat = text.replace(/[\n\t]+/g, " ").replace(/ {4,}/g, "   ").trim();
  return flat.length > TEMPLATE_PARAM_LIMIT ? `${flat.slice(0, TEMPLATE_PARAM_LIMIT - 1)}…` : flat;
}
