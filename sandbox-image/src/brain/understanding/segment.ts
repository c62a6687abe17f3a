import { findAmount } from "./amount";

/**
 * Cuts a message into the requests it holds: "Hi, I'm Sam - remind me to water the plants tonight
 * at 8" is a greeting, an introduction and a reminder. Sentences split at their punctuation, at
 * dashes and semicolons, and at "and"/"also" or a comma when what follows starts a new request
 * ("add milk to my list and remind me to call mom"); an "and" inside a request ("bread and
 * butter") stays. Polite filler around a request is dropped so it never hides the request.
 */

/** Words that open a request; an "and" or a comma before one of them starts a new clause. */
const STARTERS = [
  "remind", "add", "put", "log", "i spent", "spent", "i paid", "paid", "i earned", "i got paid", "schedule", "book", "remember",
  "what", "what's", "whats", "show", "list", "cancel", "delete", "remove", "mark", "done", "complete", "save", "note", "i had",
  "had", "i ate", "ate", "how much", "how many", "tell me", "set", "create", "make", "my name", "i'm", "i am", "call me",
  "who", "when", "where", "do i", "am i", "i live", "i work", "i need", "i have", "i like", "i love", "new task", "todo", "to-do", "don't forget", "dont forget", "please", "also", "can you",
  "could you",
];
const STARTER = `(?:${STARTERS.map((s) => s.replace(/[-']/g, (c) => `\\${c}`)).join("|")})\\b`;

const GREETING = /^(?:hi|hello|hey|hiya|howdy|yo|good (?:morning|afternoon|evening)|morning|evening|greetings)(?: there| again)?\b[\s,!.]*/i;

const LEADING_FILLER =
  /^(?:(?:ok(?:ay)?|so|um+|uh+|well|oh|right|alright|and|also|then|plus|btw|by the way|quick one|one more thing|one more|please|pls|kindly|just)\b[\s,:!.-]*|(?:could|can|would|will) you(?: please)?(?: kindly)?\b\s*|i (?:need|want|would like|'d like) you to\b\s*|i need to log\b\s*(?=\d))/i;

const TRAILING_FILLER = /[\s,]*(?:please|pls|thanks|thank you|thx|ok\??|okay\??)?[\s.!?]*$/i;

/** Abbreviations whose full stop does not end a sentence. */
const ABBREV = /\b(?:dr|mr|mrs|ms|st|a\.m|p\.m|e\.g|i\.e|approx|vs)\.$/i;

function sentences(text: string): string[] {
  const out: string[] = [];
  let buf = "";
  const parts = text.split(/(?<=[.!?])\s+|\n+|\s*;\s*|\s+[-–—]+\s+/);
  for (const p of parts) {
    buf = buf ? `${buf} ${p}` : p;
    if (!ABBREV.test(buf)) {
      out.push(buf);
      buf = "";
    }
  }
  if (buf) out.push(buf);
  return out;
}

export function stripFiller(clause: string): string {
  let c = clause.trim();
  for (let i = 0; i < 6; i++) {
    const next = c.replace(LEADING_FILLER, "").trim();
    if (next === c) break;
    c = next;
  }
  const trimmed = c.replace(TRAILING_FILLER, "").trim();
  return trimmed || c.replace(/[.!?]+$/, "").trim();
}

/** "lunch was 9,80 € and coffee 2,50 €": a list of priced things is one request per price. */
function amountList(piece: string): string[] {
  const parts = piece.split(/\s*,\s+(?:and\s+)?|\s+and\s+/);
  if (parts.length < 2 || !parts.every((p) => findAmount(p)?.currency)) return [piece];
  return parts;
}

export function segment(message: string): string[] {
  const text = message.replace(/[’‘]/g, "'").replace(/[“”]/g, '"').replace(/[ \t]+/g, " ").trim();
  const clauses: string[] = [];
  for (const s of sentences(text)) {
    let rest = s.trim();
    const greet = rest.match(GREETING);
    if (greet && greet[0].trim() && rest.length > greet[0].length) {
      clauses.push(greet[0].replace(/[\s,!.]+$/, ""));
      rest = rest.slice(greet[0].length);
    }
    const split = rest.split(new RegExp(`\\s*,?\\s+(?:and|also|then|plus)\\s+(?=${STARTER})|\\s*,\\s*(?=${STARTER})`, "i"));
    for (const piece of split.flatMap(amountList)) {
      const c = stripFiller(piece);
      if (c) clauses.push(c);
    }
  }
  return clauses;
}
