import type { Intent, Recogniser } from "./intent";
import { keywords } from "./match-by-name";

const REMEMBER = /^(?:please\s+)?(?:remember|note|keep in mind|don'?t forget|make a note|write down|save)(?:\s+that|\s+this)?\s*[:,-]?\s+(.+)$/i;
/** Durable statements about the user or the people around them, said without "remember". */
const STATEMENT = [
  /^(?:i am|i'm)\s+(?:allergic|intolerant|vegetarian|vegan|pescatarian|diabetic|gluten|lactose|married|single|divorced|pregnant|left-handed|right-handed|a\s+\w+|an\s+\w+|from\s+\w+|based in|\d+ years old|\d+\b)/i,
  /^i (?:live|work|study|grew up|was born|teach|go to school)\b/i,
  /^i (?:like|love|hate|prefer|dislike|enjoy|can't stand|don't eat|don't drink|never eat|usually|always|never)\b/i,
  /^i (?:have|'ve got) (?:a|an|two|three|\d+) (?:\w+ )?(?:kids?|children|sons?|daughters?|dogs?|cats?|brothers?|sisters?|husband|wife|partner|boyfriend|girlfriend|allergy)\b/i,
  /^my (?:\w+(?:'s)?\s+){0,3}(?:is|are|was|lives|works|likes|loves|hates|has|birthday)\b/i,
  /^[A-Z][\w-]+(?:\s[A-Z][\w-]+)? (?:is|'s) my\s+\w+/,
  /^[A-Z][\w-]+(?:'s| has| likes| loves| hates| lives| works| is allergic)\b/,
];
const RECALL_ALL = /^(?:what do you (?:know|remember)(?: about me)?|what have you (?:stored|remembered|saved)|tell me what you know(?: about me)?|what do you have on me|show (?:me )?(?:my )?(?:facts|memories|what you know))\??$/i;
const RECALL = [
  /^(?:what do you (?:know|remember) about|do you (?:know|remember)(?: anything about)?|tell me about|who is|who's)\s+(.+?)\??$/i,
  // "what's my sister's name", "when is Lea's birthday", "where do I work": about the user or someone named.
  /^(?:[Ww]hat|[Ww]hen|[Ww]here|[Hh]ow old|[Ww]hich)(?:'s| is| are| was| were| does| do)?\s+((?:[Mm]y|[Ii]|[A-Z][\w-]+'s|[A-Z][\w-]+)\b.*?)\??$/,
];
const FORGET = /^(?:forget|delete|remove)\s+(?:that|the fact(?: that)?|what i said about)\s+(.+)$/i;

function remember(fact: string): Intent {
  return {
    domain: "memory",
    run(act) {
      const { memory } = act.call<{ memory: { alreadyKnown: boolean } }>("remember", { fact });
      return memory.alreadyKnown ? "I already knew that." : "Got it, I'll remember that.";
    },
  };
}

type Fact = { id: number; fact: string };

function recall(query: string | undefined): Intent {
  return {
    domain: "memory",
    run(act) {
      if (!query) {
        const { facts } = act.call<{ facts: Fact[] }>("recall", {});
        if (facts.length === 0) return "I don't know much about you yet. Tell me with \"remember that ...\".";
        return ["Here's what I know:", ...facts.map((f) => `- ${f.fact}`)].join("\n");
      }
      const words = keywords(query.replace(/\b(?:my|i|me|name|do|does|is|are|the|what|who|where|when|work|live)\b/gi, (w) => (/work|live/i.test(w) ? w : " ")));
      const seen = new Map<number, Fact>();
      for (const w of words.length ? words : keywords(query)) for (const f of act.call<{ facts: Fact[] }>("recall", { query: w.replace(/s$/, "") }).facts) seen.set(f.id, f);
      const facts = [...seen.values()];
      if (facts.length === 0) return `I don't have anything about "${query}" yet. Tell me with "remember that ...".`;
      return facts.length === 1 ? `You told me: ${facts[0]!.fact}.` : ["Here's what I know:", ...facts.map((f) => `- ${f.fact}`)].join("\n");
    },
  };
}

function forget(what: string): Intent {
  return {
    domain: "memory",
    run(act) {
      const found = act.call<{ facts: Fact[] }>("recall", { query: keywords(what)[0] ?? what }).facts;
      if (found.length !== 1) return found.length ? `Which one? ${found.map((f) => `#${f.id} ${f.fact}`).join("; ")}.` : `I don't have anything about "${what}".`;
      act.call("forget", { id: found[0]!.id });
      return `Forgotten: ${found[0]!.fact}.`;
    },
  };
}

/** Memory: "remember that I'm vegetarian", "my sister's name is Anna", "what do you know about me". */
export const recogniseMemory: Recogniser = (clause) => {
  const f = clause.match(FORGET);
  if (f) return forget(f[1]!);
  const m = clause.match(REMEMBER);
  if (m) return remember(m[1]!.trim());
  if (RECALL_ALL.test(clause)) return recall(undefined);
  for (const re of RECALL) {
    const r = clause.match(re);
    if (r && !/\b(?:time|date|day|weather|news)\b/i.test(r[1]!)) return recall(r[1]!.trim());
  }
  if (STATEMENT.some((re) => re.test(clause))) return remember(clause.trim());
  return null;
};
