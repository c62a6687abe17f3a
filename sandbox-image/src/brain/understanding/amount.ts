/**
 * Money amounts as people write them: "9,80 €", "€9.80", "12.50 EUR", "$5", "1.234,56 €",
 * "20 dollars", "300 inr". Symbols, currency names and digit separators all come from the
 * platform's ICU data through `Intl` (NumberFormat parts per locale, DisplayNames), not from a
 * hand-kept table, so "1.234,56" reads as German and "1,234.56" as American because those locales
 * format numbers that way.
 */

/** A locale where each currency is at home, in the order ambiguous symbols are resolved ($ is USD, ¥ is JPY). */
const HOMES: [string, string][] = [
  ["USD", "en-US"], ["EUR", "de-DE"], ["GBP", "en-GB"], ["JPY", "ja-JP"], ["INR", "en-IN"], ["CHF", "de-CH"], ["CNY", "zh-CN"],
  ["CAD", "en-CA"], ["AUD", "en-AU"], ["BRL", "pt-BR"], ["KRW", "ko-KR"], ["RUB", "ru-RU"], ["TRY", "tr-TR"], ["PLN", "pl-PL"],
  ["SEK", "sv-SE"], ["NOK", "nb-NO"], ["DKK", "da-DK"], ["MXN", "es-MX"], ["ZAR", "en-ZA"], ["THB", "th-TH"], ["ILS", "he-IL"],
  ["NGN", "en-NG"], ["PHP", "en-PH"], ["VND", "vi-VN"], ["UAH", "uk-UA"], ["CZK", "cs-CZ"], ["HUF", "hu-HU"],
];
const HOME = new Map(HOMES);
/** Number styles tried when the currency says nothing about them. */
const FALLBACK_LOCALES = ["en-US", "de-DE", "fr-FR", "de-CH"];
/** Three-letter ISO codes that are also everyday English words; as codes they must be written in capitals. */
const WORD_CODES = new Set(["all", "top", "mad", "cup", "try", "pen", "gel", "mop", "sos", "bob", "awg", "lak"]);

const CODES = new Set(typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("currency") : HOMES.map(([c]) => c));

function currencyPart(code: string, locale: string, display: "narrowSymbol" | "symbol"): string | undefined {
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency: code, currencyDisplay: display }).formatToParts(1).find((p) => p.type === "currency")?.value;
  } catch {
    return undefined;
  }
}

/** Symbol or name (lower case) → ISO code, learned from Intl on first use (not at start-up). */
function buildLexicon(): Map<string, string> {
  const m = new Map<string, string>();
  const add = (k: string | undefined, code: string) => {
    if (!k) return;
    const key = k.toLowerCase().replace(/\.$/, "");
    if (key && !/^[a-z]{3}$/.test(key) && !m.has(key)) m.set(key, code);
  };
  const names = new Intl.DisplayNames(["en"], { type: "currency" });
  for (const [code, locale] of HOMES) {
    add(currencyPart(code, locale, "narrowSymbol"), code);
    add(currencyPart(code, locale, "symbol"), code);
    add(currencyPart(code, "en", "symbol"), code);
    const name = names.of(code)?.toLowerCase();
    if (name) {
      add(name, code);
      add(`${name}s`, code);
      const last = name.split(" ").at(-1)!;
      add(last, code);
      add(`${last}s`, code);
    }
  }
  // Spoken forms ICU does not list.
  for (const [k, code] of [["bucks", "USD"], ["rs", "INR"], ["quid", "GBP"], ["reais", "BRL"]] as const) add(k, code);
  return m;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/$]/g, "\\$&");
const NUM = String.raw`\d(?:[\d.,'\u00a0\u202f]*\d)?`;

function buildPattern(lexicon: Map<string, string>): RegExp {
  const symbols = [...new Set([...lexicon.keys()].filter((k) => !/^[a-z ]+$/.test(k)))].sort((a, b) => b.length - a.length);
  const names = [...new Set([...lexicon.keys()].filter((k) => /^[a-z ]+$/.test(k)))].sort((a, b) => b.length - a.length);
  const SYM = `(?:${symbols.map(esc).join("|")})`;
  const CODE = `(?:${[...CODES].join("|")})`;
  const WORD = `(?:${names.map(esc).join("|")}|${CODE})`;
  return new RegExp(
    String.raw`(?<![\w#:.,])(?:(?<pre>${SYM}|\b${CODE}\b)\.?\s?(?<n1>${NUM})|(?<n2>${NUM})(?:\s?(?<post>${SYM})|\s?(?<word>${WORD})\b)?)(?![\w:%])(?!\s?(?:kcal|cal|calories|min|mins|minutes|hours?|h|am|pm|kg|g|km|x|times|people|persons?)\b)`,
    "giu",
  );
}

let tables: { lexicon: Map<string, string>; pattern: RegExp } | undefined;
function learned(): { lexicon: Map<string, string>; pattern: RegExp } {
  if (!tables) {
    const lexicon = buildLexicon();
    tables = { lexicon, pattern: buildPattern(lexicon) };
  }
  return tables;
}

function separators(locale: string): { group: string; decimal: string } {
  const parts = new Intl.NumberFormat(locale).formatToParts(1234567.5);
  return { group: parts.find((p) => p.type === "group")?.value ?? ",", decimal: parts.find((p) => p.type === "decimal")?.value ?? "." };
}

/** A digit string read in one locale's style, or null when it is not written that way. */
function readIn(raw: string, locale: string): number | null {
  const { group, decimal } = separators(locale);
  const g = group === "\u00a0" || group === "\u202f" ? "[\\u00a0\\u202f ]" : esc(group) + (group === "’" ? "|'" : "");
  const d = esc(decimal);
  const ok = new RegExp(`^(?:\\d{1,3}(?:(?:${g})\\d{3})+|\\d+)(?:${d}\\d+)?$`).test(raw);
  if (!ok) return null;
  const normal = raw.split(decimal).map((s, i) => (i === 0 ? s.replace(/\D/g, "") : s)).join(".");
  const n = Number(normal);
  return Number.isFinite(n) ? n : null;
}

/** Reads "1.234,56" in the first of these locales' styles that fits it. */
export function readNumber(raw: string, locales: string[]): number | null {
  for (const l of [...new Set([...locales, ...FALLBACK_LOCALES])]) {
    const n = readIn(raw, l);
    if (n !== null) return n;
  }
  return null;
}

export function currencyOf(token: string | undefined): string | undefined {
  if (!token) return undefined;
  const t = token.trim();
  if (/^[A-Za-z]{3}$/.test(t)) {
    const code = t.toUpperCase();
    if (!CODES.has(code)) return learned().lexicon.get(t.toLowerCase());
    return WORD_CODES.has(t) ? undefined : code;
  }
  return learned().lexicon.get(t.toLowerCase());
}

export interface Amount {
  amount: number;
  /** ISO code when the text named one; otherwise the user's default applies. */
  currency?: string;
  /** The words that were the amount, to cut out of the description. */
  text: string;
}

/** Every money amount in the text, in order. `userCurrency` decides how a bare "1.500" reads. */
export function findAmounts(text: string, userCurrency = "USD"): Amount[] {
  const out: Amount[] = [];
  for (const m of text.matchAll(learned().pattern)) {
    const g = m.groups!;
    const raw = (g.n1 ?? g.n2)!;
    const token = g.pre ?? g.post ?? g.word;
    const currency = currencyOf(token);
    // A three-letter word before the number that is no currency ("for 12") is not part of it.
    const text = token && !currency ? raw : m[0].trim();
    const locales = [HOME.get(currency ?? userCurrency) ?? "en-US"];
    const amount = readNumber(raw.replace(/[.,]$/, ""), locales);
    if (amount === null || amount <= 0) continue;
    out.push({ amount, currency, text });
  }
  return out;
}

/** The amount a request is about: the first with a currency ("2 coffees 6,40 €"), else the first number. */
export function findAmount(text: string, userCurrency = "USD"): Amount | null {
  const all = findAmounts(text, userCurrency);
  return all.find((a) => a.currency) ?? all[0] ?? null;
}
