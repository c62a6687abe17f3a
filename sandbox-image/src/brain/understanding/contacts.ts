import type { Intent, Recogniser } from "./intent";

const PHONE = /(?:\+|00)?\d[\d\s().\/-]{5,}\d/;
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/;
const RELATIONS = /\b(?:mother|mom|mum|father|dad|sister|brother|wife|husband|partner|son|daughter|friend|boss|colleague|coworker|dentist|doctor|plumber|landlord|neighbou?r|aunt|uncle|cousin|grandma|grandpa|babysitter|trainer|accountant|lawyer|vet|hairdresser|mechanic)\b/i;

const SAVE = [
  /^(?:save|add|store)\s+(.+?)\s+as\s+(?:my\s+)?(\w+)/i,
  /^(?:save|add|store|new)\s+(?:a\s+)?(?:contact|number|phone number|email)\s*:?\s*(?:for\s+)?(.+)$/i,
  /^(?:save|add|store)\s+(.+?)(?:'s)?\s+(?:number|phone|phone number|email|e-mail|contact)\b\s*:?\s*(.*)$/i,
  /^(.+?)(?:'s)\s+(?:(?:new|other|work|home|private|mobile|cell)\s+)?(?:number|phone|phone number|mobile|cell|email|e-mail|email address)\s+(?:is|:)\s*(.+)$/i,
  /^my\s+(\w+)(?:\s+is|,)\s+(.+)$/i,
];
const FIND = [
  /^(?:what(?:'s| is)|give me|find|look up|lookup|get|show(?: me)?|do you have|do i have)\s+(?:the\s+)?(?:(?:phone\s+)?number|phone|email|e-mail|contact(?: details| info)?)\s+(?:of|for)\s+(.+?)\??$/i,
  /^(?:what(?:'s| is)|give me|find|look up|lookup|get|show(?: me)?|do you have|do i have)\s+(?:my\s+)?(.+?)(?:'s)\s+(?:(?:phone\s+)?number|phone|mobile|email|e-mail|contact(?: details| info)?|address)\??$/i,
  /^(?:how (?:do|can) i (?:reach|contact|call)|find contact|look up contact|search contacts? for)\s+(.+?)\??$/i,
  /^(?:who is|who's) my\s+(\w+)\??$/i,
];

function save(raw: string): Intent | null {
  const phone = raw.match(PHONE)?.[0].trim();
  const email = raw.match(EMAIL)?.[0];
  if (!phone && !email) return null;
  let rest = raw.replace(phone ?? "\u0000", " ").replace(email ?? "\u0000", " ");
  const relationship = rest.match(RELATIONS)?.[0].toLowerCase();
  rest = rest
    .replace(/\b(?:my|is|her|his|their|number|phone|mobile|cell|email|e-mail|contact|at|:|,|and|the|who is|new|other|work|home|private|as)\b/gi, " ")
    .replace(RELATIONS, " ")
    .replace(/'s\b/g, "")
    .replace(/[,:;()-]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  const name = rest.replace(/^(?:dr|mr|mrs|ms)\.?\s+/i, (t) => t) || (relationship ? relationship : "");
  if (!name) return null;
  return {
    domain: "contacts",
    run(act) {
      act.call("add_contact", { name, phone, email, relationship });
      const how = [phone, email].filter(Boolean).join(", ");
      return `Saved ${name}${relationship && relationship !== name ? ` (${relationship})` : ""}: ${how}.`;
    },
  };
}

type Contact = { name: string; phone: string | null; email: string | null; relationship: string | null };

function show(c: Contact): string {
  return `${c.name}${c.relationship && c.relationship !== c.name ? ` (${c.relationship})` : ""}: ${[c.phone, c.email].filter(Boolean).join(", ") || "no number or email"}`;
}

function find(query: string): Intent {
  return {
    domain: "contacts",
    run(act) {
      const q = query.replace(/^(?:my|the)\s+/i, "").replace(/'s$/, "").trim();
      const { contacts } = act.call<{ contacts: Contact[] }>("find_contact", { query: q });
      if (contacts.length === 0) return `I don't have a contact for "${q}". Save one with "save ${q}'s number ...".`;
      return contacts.slice(0, 5).map(show).join("\n");
    },
  };
}

/** Contacts: "save Lea's number +49 176 1234567", "my dentist is Dr Weber, 030 123456", "what's Lea's number?". */
const LIST = /^(?:show|list|see|what are|who are|read)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:my\s+)?contacts\??$|^(?:my\s+)?contacts\??$/i;

const list: Intent = {
  domain: "contacts",
  run(act) {
    const { rows } = act.call<{ rows: Contact[] }>("query_database", { sql: "SELECT name, phone, email, relationship FROM contacts ORDER BY name LIMIT 20" });
    if (rows.length === 0) return 'No contacts saved yet. Try "save Lea\'s number +49 176 1234567".';
    return ["Your contacts:", ...rows.map(show)].join("\n");
  },
};

export const recogniseContact: Recogniser = (clause) => {
  if (LIST.test(clause)) return list;
  for (const re of FIND) {
    const m = clause.match(re);
    if (m && !(re === FIND[3] && !RELATIONS.test(m[1]!))) return find(m[1]!);
  }
  if (!PHONE.test(clause) && !EMAIL.test(clause)) return null;
  for (const re of SAVE) {
    const m = clause.match(re);
    if (m) {
      const intent = save(clause.replace(/^(?:save|add|store|new)\s+(?:a\s+)?(?:contact|number|phone number|email)?\s*:?\s*(?:for\s+)?/i, ""));
      if (intent) return intent;
    }
  }
  return null;
};
