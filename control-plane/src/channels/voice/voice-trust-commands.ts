import type { Database } from "../../db/database";
import type { Logger } from "../../logger";
import type { WhatsAppCommands } from "../whatsapp/turn";
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
 * question about a live limited call. Anything else is the agent's (undefined).
 */
export function voiceTrustCommands(deps: { database: Database; trust: CallTrustStore; confirmWithinMs: number; logger: Logger }): WhatsAppCommands {
  const log = deps.logger.child({ component: "voice-trust" });
  const { db } = deps.database;
  return {
    async answer(userId, text) {
      const pin = SET_PIN.exec(text)?.[1];
      if (pin) {
        await deps.trust.setPin(db, userId, pin);
        log.info({ userId }, "phone PIN set on WhatsApp");
        return ConfirmPhrases.pinSet;
      }
      if (CLEAR_PIN.test(text)) {
        await deps.trust.setPin(db, userId, null);
        log.info({ userId }, "phone PIN removed on WhatsApp");
        return ConfirmPhrases.pinCleared;
      }
      const yes = YES.test(text);
      if (yes || NO.test(text)) {
        const callSid = await deps.trust.confirmableCall(db, userId, deps.confirmWithinMs);
        if (callSid) {
          if (yes) await deps.trust.upgrade(db, callSid);
          await deps.trust.withdrawConfirm(db, callSid);
          log.info({ userId, callSid, confirmed: yes }, "the user answered the call confirmation on WhatsApp");
          return yes ? ConfirmPhrases.confirmed : ConfirmPhrases.declined;
        }
      }
      return undefined;
    },
  };
}
