import type { CallTrust } from "@concierge/protocol";
import type { Call } from "../../db/schema";

export type CallerTrust = Call["trust"];

/**
 * Twilio's StirVerstat on an incoming call (STIR/SHAKEN, as Twilio documents it): only a call
 * whose number the originating carrier fully attested (level A) and whose PASSporT Twilio verified
 * identifies the caller. B and C (the carrier knows the customer, not the number), every
 * TN-Validation-Failed-*, No-TN-Validation, a diverted call (the diverter attests, not the
 * caller) and an absent value all leave the call limited.
 */
const ATTESTED = new Set(["TN-Validation-Passed-A", "TN-Validation-Passed-A-Passthrough"]);

export function trustFromStirVerstat(verstat: string | undefined): CallerTrust {
  return verstat && ATTESTED.has(verstat.trim()) ? "attested" : "limited";
}

/** What the agent is told: attested or verified callers get everything. */
export function agentTrust(trust: CallerTrust): CallTrust {
  return trust === "limited" ? "limited" : "full";
}

const DIGIT_WORDS: Record<string, string> = {
  zero: "0", oh: "0", o: "0", one: "1", two: "2", to: "2", too: "2", three: "3", four: "4", for: "4",
  five: "5", six: "6", seven: "7", eight: "8", ate: "8", nine: "9",
};
const FILLER = new Set(["my", "pin", "is", "code", "the", "it's", "its", "number", "phone", "okay", "ok", "um", "uh"]);

/**
 * The PIN in an utterance that is nothing but a PIN ("1 2 3 4", "one two three four", "my pin is
 * 4711"), 4 to 8 digits; null for anything else, so ordinary speech with a number in it ("remind
 * me at 1530 to ...") still goes to the agent.
 */
export function spokenPin(speech: string): string | null {
  let digits = "";
  for (const raw of speech.toLowerCase().replace(/[.,!?;:-]/g, " ").split(/\s+/).filter(Boolean)) {
    if (/^\d+$/.test(raw)) digits += raw;
    else if (DIGIT_WORDS[raw] !== undefined) digits += DIGIT_WORDS[raw];
    else if (!FILLER.has(raw)) return null;
  }
  return /^\d{4,8}$/.test(digits) ? digits : null;
}
