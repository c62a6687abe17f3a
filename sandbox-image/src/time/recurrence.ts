import { DateTime } from "luxon";

export type Recurrence = "daily" | "weekly" | "monthly";

/**
 * The n-th occurrence of a recurring reminder, counted from its anchor (the local wall time it was
 * first set for). Counting from the anchor, not from the previous occurrence, keeps 08:00 at 08:00
 * across DST and keeps "the 31st" from sliding to the 28th after February.
 */
export function occurrence(anchorLocal: string, zone: string, recurrence: Recurrence, n: number): DateTime {
  const anchor = DateTime.fromISO(anchorLocal, { zone });
  switch (recurrence) {
    case "daily":
      return anchor.plus({ days: n });
    case "weekly":
      return anchor.plus({ weeks: n });
    case "monthly":
      return anchor.plus({ months: n });
  }
}

/** The first occurrence index whose instant is strictly after `after`, starting from `from`. */
export function nextOccurrenceIndex(anchorLocal: string, zone: string, recurrence: Recurrence, from: number, after: Date): number {
  let n = from;
  // Bounded: a reminder left unfired for years still advances in at most this many steps.
  for (let i = 0; i < 100_000; i++, n++) {
    if (occurrence(anchorLocal, zone, recurrence, n).toMillis() > after.getTime()) return n;
  }
  return n;
}
