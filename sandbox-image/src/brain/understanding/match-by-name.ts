/** Words too common to tell one item from another ("the", "my", "reminder"). */
const STOP = new Set([
  "the", "a", "an", "my", "to", "for", "of", "on", "at", "in", "about", "with", "and", "or", "me", "i", "it", "that", "this",
  "reminder", "reminders", "task", "tasks", "todo", "to-do", "item", "one", "event", "please", "from", "list", "is", "as",
]);

export function keywords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s'-]/gu, " ")
    .split(/\s+/)
    .map((w) => w.replace(/'s$/, ""))
    .filter((w) => w.length > 1 && !STOP.has(w));
}

/**
 * The items a name points at: "the dentist reminder" finds "call the dentist". An item matches
 * when it holds every keyword of the name (plural or singular); the best are those with the
 * fewest other words. Several equally good matches are all returned, so the caller can ask.
 */
export function matchByName<T>(items: T[], name: string, label: (t: T) => string): T[] {
  const want = keywords(name);
  if (want.length === 0) return [];
  const stem = (w: string) => w.replace(/(?:es|s)$/, "");
  const scored = items
    .map((item) => {
      const have = keywords(label(item)).map(stem);
      const hits = want.filter((w) => have.includes(stem(w))).length;
      return { item, hits, extra: have.length - hits };
    })
    .filter((s) => s.hits === want.length);
  if (scored.length === 0) return [];
  const best = Math.min(...scored.map((s) => s.extra));
  return scored.filter((s) => s.extra === best).map((s) => s.item);
}

/** The one item a name points at, or the sentence to say instead (none found, or which one?). */
export function pickByName<T>(items: T[], name: string, label: (t: T) => string, show: (t: T) => string, notFound: string): T | string {
  const found = matchByName(items, name, label);
  if (found.length === 1) return found[0]!;
  if (found.length === 0) return notFound;
  return `Which one? ${found.map(show).join(", ")}.`;
}
