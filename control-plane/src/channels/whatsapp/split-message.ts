import type { NewOutboundMessage } from "../../outbox/types";

/** WhatsApp rejects a text body longer than this many characters. */
export const WHATSAPP_TEXT_LIMIT = 4096;

/**
 * Break points, best first. A reply is cut at the last paragraph break in the window, else the last
 * line break, else the last sentence end, else the last space; only a text with none of those is
 * cut mid-word. A break in the first half of the window is ignored so no part is needlessly tiny.
 */
const BREAKS: RegExp[] = [/\n\s*\n/g, /\n/g, /[.!?…。！？]["'”’)\]]*\s+/g, /\s+/g];

function lastBreak(window: string, pattern: RegExp, minimum: number): number {
  let best = -1;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(window); m; m = pattern.exec(window)) {
    // The cut goes after the punctuation and before the whitespace that follows it.
    const punctuation = m[0].replace(/\s+$/, "");
    const cut = m.index + punctuation.length;
    if (cut >= minimum) best = cut;
    if (m[0].length === 0) pattern.lastIndex++;
  }
  return best;
}

/** Never cut between the two halves of a surrogate pair (an emoji would become two bad halves). */
function safeHardCut(text: string, limit: number): number {
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}

/**
 * Splits a reply into parts of at most `limit` characters (UTF-16 code units, which never
 * undercounts what WhatsApp measures), on the most natural boundary available. Pure: the parts, in
 * order, hold every non-whitespace character of the input; only whitespace at a cut is dropped.
 */
export function splitMessage(text: string, limit: number = WHATSAPP_TEXT_LIMIT): string[] {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError("limit must be a whole number >= 2");
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    let cut = -1;
    for (const pattern of BREAKS) {
      cut = lastBreak(window, pattern, Math.floor(limit / 2));
      if (cut > 0 && cut <= limit) break;
      cut = -1;
    }
    if (cut <= 0) cut = safeHardCut(rest, limit);
    const part = rest.slice(0, cut).trimEnd();
    if (part.length > 0) parts.push(part);
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) parts.push(rest);
  return parts;
}

/**
 * Replaces every over-long WhatsApp text with its parts, in place and in order. The outbox sends
 * one user's rows strictly in the order they were written, so the parts arrive in order.
 */
export function splitOutbound(messages: NewOutboundMessage[]): NewOutboundMessage[] {
  return messages.flatMap((m) => {
    if (m.channel !== "whatsapp" || m.kind !== "text" || m.body.length <= WHATSAPP_TEXT_LIMIT) return [m];
    const parts = splitMessage(m.body);
    return parts.map((body, i) => ({ ...m, body, meta: { ...(m.meta ?? {}), part: i + 1, parts: parts.length } }));
  });
}
