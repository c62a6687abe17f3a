import type { Database } from "../../db/database";
import type { InboxHandler } from "../../inbox/dispatcher";
import type { Logger } from "../../logger";
import type { NewOutboundMessage } from "../../outbox/types";
import type { CallTrustStore } from "./call-trust-store";

const SET_PIN = /^\s*(?:set\s+)?(?:my\s+)?(?:phone|call|voice)[\s-]*pin\s*(?:to|is|:|=)?\s*(\d{4,8})\s*[.!]?\s*$/i;
const CLEAR_PIN = /^\s*(?:(?:remove|clear|delete)\s+(?:my\s+)?(?:phone|call|voice)[\s-]*pin|(?:phone|call|voice)[\s-]*pin\s+off)\s*[.!]?\s*$/i;
const YES = /^\s*(?:yes|yep|yeah|y|ja|oui|s[ií]|it'?s me|that'?s me|that was me)\s*[.!]*\s*$/i;
const NO = /^\s*(?:no|nope|n|nein|non|not me|that wasn'?t me)\s*[.!]*\s*$/i;

export const ConfirmPhrases = {
  pinSet: "Your phone PIN is set. When I can't verify the number you call me from, say it to unlock the call. I never keep the PIN itself.",
  pinCleared: "Your phone PIN is removed.",
  confirmed: "Thanks, that call now has full access.",
  declined: "Okay, that call stays limited: it can't hear anything about you or change anything but a note. If it wasn't you, someone may be using your number.",
} as const;

export function confirmQuestion(minutes: number): string {
  return `Someone is calling your assistant from your number, and the call could not be verified. Was it you? Reply YES within ${minutes} minutes to give that call full access; otherwise it can only take a message.`;
}

/**
 * The control plane's own WhatsApp commands for phone trust, answered before the agent sees the
 * message (docs/voice-trust.md): "phone pin 4711" sets the PIN (hashed; it never reaches the agent
 * or the model), "remove phone pin" clears it, and "yes"/"no" answer a pending "was that you?"
 * question about a live limited call. Everything else goes to `inner` unchanged.
 */
export function withVoiceTrust(inner: InboxHandler, deps: { database: Database; trust: CallTrustStore; confirmWithinMs: number; logger: Logger }): InboxHandler {
  const log = deps.logger.child({ component: "voice-trust" });
  const { db } = deps.database;
  return async (event, ctx) => {
    if (event.channel !== "whatsapp") return inner(event, ctx);
    const text = typeof event.payload.text === "string" ? event.payload.text : "";
    const reply = (body: string): NewOutboundMessage[] => [{ userId: event.userId, channel: "whatsapp", kind: "text", body, inboxId: event.id }];
    const pin = SET_PIN.exec(text)?.[1];
    if (pin) {
      await deps.trust.setPin(db, event.userId, pin);
      log.info({ userId: event.userId }, "phone PIN set on WhatsApp");
      return reply(ConfirmPhrases.pinSet);
    }
    if (CLEAR_PIN.test(text)) {
      await deps.trust.setPin(db, event.userId, null);
      log.info({ userId: event.userId }, "phone PIN removed on WhatsApp");
      return reply(ConfirmPhrases.pinCleared);
    }
    const yes = YES.test(text);
    if (yes || NO.test(text)) {
      const callSid = await deps.trust.confirmableCall(db, event.userId, deps.confirmWithinMs);
      if (callSid) {
        if (yes) await deps.trust.upgrade(db, callSid);
        await deps.trust.withdrawConfirm(db, callSid);
        log.info({ userId: event.userId, callSid, confirmed: yes }, "the user answered the call confirmation on WhatsApp");
        return reply(yes ? ConfirmPhrases.confirmed : ConfirmPhrases.declined);
      }
    }
    return inner(event, ctx);
  };
}
