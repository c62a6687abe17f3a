import type { InboundEventRow } from "../../inbox/types";
import type { NewOutboundMessage } from "../../outbox/types";
import { splitMessage, WHATSAPP_TEXT_LIMIT } from "./split-message";
import { WhatsAppTurnPreparer, type PreparedTurn } from "./turn-preparer";

/** The dispatcher's handler shape (inbox/dispatcher.ts InboxHandler), kept structural here. */
export type MessageHandler<C> = (event: InboundEventRow, ctx: C) => Promise<NewOutboundMessage[] | void>;

/**
 * Wraps the dispatcher's "message" handler for WhatsApp events: before the turn, the preparer marks
 * the message read, shows "typing…" and transcribes a voice note (the agent gets the text with
 * spoken=true); after it, the typing indicator always stops, and each reply longer than WhatsApp's
 * 4096 characters becomes several outbox rows. The outbox sends one user's rows strictly in the
 * order they were written, so the parts arrive in order.
 */
export function withWhatsApp<C>(inner: MessageHandler<C>, preparer?: WhatsAppTurnPreparer): MessageHandler<C> {
  return async (event, ctx) => {
    let prepared: PreparedTurn | undefined;
    let e = event;
    if (event.channel === "whatsapp" && preparer && WhatsAppTurnPreparer.isWhatsAppPayload(event.payload)) {
      prepared = await preparer.prepare(event);
      e = { ...event, payload: { ...prepared.chat } };
    }
    try {
      const out = await inner(e, ctx);
      return out ? splitOutbound(out) : out;
    } finally {
      prepared?.done();
    }
  };
}

/** Replaces every over-long WhatsApp text with its parts, in place and in order. */
export function splitOutbound(messages: NewOutboundMessage[]): NewOutboundMessage[] {
  return messages.flatMap((m) => {
    if (m.channel !== "whatsapp" || m.kind !== "text" || m.body.length <= WHATSAPP_TEXT_LIMIT) return [m];
    const parts = splitMessage(m.body);
    return parts.map((body, i) => ({ ...m, body, meta: { ...(m.meta ?? {}), part: i + 1, parts: parts.length } }));
  });
}
