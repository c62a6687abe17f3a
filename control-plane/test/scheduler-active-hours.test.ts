import { isWithinActiveHours, localDay, nextHeartbeatSlot, isValidTimezone } from "../src/scheduler/active-hours";
import { normalizeProactiveText, proactiveTextHash } from "../src/scheduler/proactive-guard";
import { alarmRecheckDelayMs } from "../src/scheduler/scheduler";

const slot = (after: string, tz: string, start: string, end: string, every = 30) => nextHeartbeatSlot(new Date(after), { timezone: tz, start, end }, every)?.toISOString();

describe("heartbeat slots in the user's time zone", () => {
  it("starts at the window's start and repeats every interval inside it", () => {
    expect(slot("2026-07-01T03:00:00Z", "Europe/Berlin", "07:00", "23:00")).toBe("2026-07-01T05:00:00.000Z");
    expect(slot("2026-07-01T05:00:00Z", "Europe/Berlin", "07:00", "23:00")).toBe("2026-07-01T05:30:00.000Z");
    expect(slot("2026-07-01T05:10:00Z", "Europe/Berlin", "07:00", "23:00")).toBe("2026-07-01T05:30:00.000Z");
    // 22:30 is the last slot; after it, tomorrow 07:00.
    expect(slot("2026-07-01T20:30:00Z", "Europe/Berlin", "07:00", "23:00")).toBe("2026-07-02T05:00:00.000Z");
  });

  it("keeps local times across DST changes", () => {
    // Berlin springs forward on 2026-03-29 and falls back on 2026-10-25.
    expect(slot("2026-03-28T22:00:00Z", "Europe/Berlin", "07:00", "23:00")).toBe("2026-03-29T05:00:00.000Z");
    expect(slot("2026-10-24T22:00:00Z", "Europe/Berlin", "07:00", "23:00")).toBe("2026-10-25T06:00:00.000Z");
  });

  it("handles half-hour zones, windows past midnight and a window ending at 24:00", () => {
    expect(slot("2026-07-01T00:00:00Z", "Asia/Kolkata", "07:00", "23:00")).toBe("2026-07-01T01:30:00.000Z");
    expect(slot("2026-07-01T12:00:00Z", "UTC", "22:00", "02:00", 60)).toBe("2026-07-01T22:00:00.000Z");
    expect(slot("2026-07-01T23:30:00Z", "UTC", "22:00", "02:00", 60)).toBe("2026-07-02T00:00:00.000Z");
    expect(slot("2026-07-01T01:00:00Z", "UTC", "22:00", "02:00", 60)).toBe("2026-07-01T22:00:00.000Z");
    expect(slot("2026-07-01T23:00:00Z", "UTC", "20:00", "24:00", 30)).toBe("2026-07-01T23:30:00.000Z");
  });

  it("knows when a moment is inside the active hours", () => {
    const h = { timezone: "America/New_York", start: "07:00", end: "23:00" };
    expect(isWithinActiveHours(new Date("2026-07-01T10:59:00Z"), h)).toBe(false); // 06:59 EDT
    expect(isWithinActiveHours(new Date("2026-07-01T11:00:00Z"), h)).toBe(true); // 07:00 EDT
    expect(isWithinActiveHours(new Date("2026-07-02T03:00:00Z"), h)).toBe(false); // 23:00 EDT
    const night = { timezone: "UTC", start: "22:00", end: "02:00" };
    expect(isWithinActiveHours(new Date("2026-07-02T01:59:00Z"), night)).toBe(true);
    expect(isWithinActiveHours(new Date("2026-07-02T02:00:00Z"), night)).toBe(false);
  });

  it("counts the daily cap by the user's local day", () => {
    expect(localDay(new Date("2026-07-01T20:00:00Z"), "Asia/Tokyo")).toBe("2026-07-02");
    expect(localDay(new Date("2026-07-01T20:00:00Z"), "America/Los_Angeles")).toBe("2026-07-01");
    expect(isValidTimezone("Europe/Berlin")).toBe(true);
    expect(isValidTimezone("Mars/Base")).toBe(false);
  });
});

describe("never spammy: the pieces", () => {
  it("treats case, spacing, punctuation and emoji as the same text", () => {
    expect(normalizeProactiveText("  Lunch?  Did you EAT 🍝!! ")).toBe("lunch did you eat");
    expect(proactiveTextHash("Lunch? Did you eat")).toBe(proactiveTextHash("lunch did you eat!!"));
    expect(proactiveTextHash("Lunch? Did you eat")).not.toBe(proactiveTextHash("Dinner? Did you eat"));
  });

  it("asks an unanswered alarm again with backoff, at most every 6 hours", () => {
    expect([1, 2, 3].map(alarmRecheckDelayMs)).toEqual([300_000, 600_000, 1_200_000]);
    expect(alarmRecheckDelayMs(30)).toBe(6 * 3600_000);
  });
});
