import { isValidZone } from "../../time/resolve-time";
import { currencyOf } from "./amount";
import type { Intent, Recogniser } from "./intent";

const NAME = /^(?:(i'?m|i am|this is|it'?s)|my name is|my name's|call me|name'?s)\s+([\p{L}'-]+(?:\s[\p{L}'-]+)?)$/iu;
/** After "I'm" a name is capitalised ("I'm Sam", not "I'm tired"); after "my name is" anything goes. */
const CAPITALISED = /^\p{Lu}[\p{L}'-]*(?:\s\p{Lu}[\p{L}'-]*)?$/u;
const ZONE = /\b(?:my )?time ?zone (?:is|to)\s+([A-Za-z_]+\/[A-Za-z_]+(?:\/[A-Za-z_]+)?)\b/i;
const CURRENCY = /^(?:my (?:default )?currency is|use|set (?:my )?currency to|switch to|i use|i pay in)\s+([\p{L}$€£¥₹ ]+?)(?:\s+(?:as|by) default|\s+from now on)?$/iu;

function setName(name: string): Intent {
  return {
    domain: "profile",
    run(act) {
      act.call("update_profile", { name });
      return `Nice to meet you, ${name}!`;
    },
  };
}

const ASK_NAME = /^(?:what'?s|what is|do you (?:know|remember)|say|tell me) my name\??$|^who am i\??$/i;

const askName: Intent = {
  domain: "profile",
  run(act) {
    const { rows } = act.call<{ rows: { name: string | null }[] }>("query_database", { sql: "SELECT name FROM profile WHERE id = 1" });
    const name = rows[0]?.name;
    return name ? `You're ${name}.` : "You haven't told me your name yet. Say \"my name is ...\".";
  },
};

/** The profile: "I'm Sam", "my name is Sam", "my timezone is Europe/Berlin", "use euros". */
export const recogniseProfile: Recogniser = (clause) => {
  if (ASK_NAME.test(clause)) return askName;
  const n = clause.match(NAME);
  if (n && (!n[1] || CAPITALISED.test(n[2]!))) {
    const name = n[2]!.replace(/^\p{Ll}/u, (c) => c.toUpperCase());
    return setName(name);
  }
  const z = clause.match(ZONE);
  if (z && isValidZone(z[1]!)) {
    const timezone = z[1]!;
    return { domain: "profile", run: (act) => (act.call("update_profile", { timezone }), `OK, your timezone is now ${timezone}.`) };
  }
  const c = clause.match(CURRENCY);
  const code = c ? currencyOf(c[1]!.trim()) : undefined;
  if (code) return { domain: "profile", run: (act) => (act.call("update_profile", { currency: code }), `OK, amounts are in ${code} unless you say otherwise.`) };
  return null;
};
