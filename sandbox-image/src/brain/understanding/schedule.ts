import { DateTime } from "luxon";
import { localLabel, localTimeLabel } from "../../tools/format";
import type { EventRow } from "../../tools/schedule-tools";
import { onNamed, type Act, type Intent, type Recogniser } from "./intent";
import { pickByName } from "./match-by-name";
import { askedDays, timeIn, wall } from "./when";

const ADD = /^(?:please\s+)?(?:schedule|book|add (?:an? )?(?:event|meeting|appointment|call)|new (?:event|meeting|appointment)|put|pencil in|block|set up|arrange|plan|i have|i've got|i got|there'?s)\b\s*:?\s*(.+)$/i;
const EVENTISH = /\b(?:meeting|meet|appointment|appt|call with|lunch with|dinner with|breakfast with|coffee with|drinks with|date with|party|class|lesson|interview|session|dentist|doctor|gym|yoga|haircut|concert|flight|training|practice|standup|stand-up|workshop|conference|webinar|match|game|rehearsal|visit|therapy|checkup|check-up|review|sync|1:1|one-on-one|with [A-Z]\w+)\b/i;
const QUERY = [
  /^(?:what|whats|show|list|any|anything|do i have|am i|is there|tell me|how|my|check|read)\b.*\b(?:schedule|calendar|agenda|events?|meetings?|appointments?|plans?|happening|planned|booked|free|busy)\b/i,
  /^(?:what'?s|what is|what do i have|what have i got|what am i doing|anything|is there anything|do i have anything|have i got anything|whats)\s+(?:on|going on|up|planned|coming up|today|tomorrow|tonight|this|next|(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b/i,
  /^(?:how does|how's|how is|what does) my (?:day|week|tomorrow|morning|afternoon|evening|weekend)\b/i,
];
const DELETE = /^(?:cancel|delete|remove|drop|call off)\s+(?:the\s+|my\s+)?(.+?)(?:\s+(?:event|meeting|appointment))?$/i;
const MOVE = /^(?:move|reschedule|push|shift|change)\s+(?:the\s+|my\s+)?(.+?)\s+(?:to|until|till)\s+(.+)$/i;

function add(body: string, explicit: boolean): Intent {
  return {
    domain: "schedule",
    run(act) {
      const t = timeIn(act, body);
      if (!t) return `When is it? Try "schedule ${body} tomorrow at 3pm".`;
      const title = t.rest
        .replace(/^(?:i'?m|we'?re|i am|we are) (?:having|going to|off to|seeing|meeting)\s+(?=\S)/i, (m) => (/meeting|seeing/i.test(m) ? m.replace(/^(?:i'?m|we'?re|i am|we are) /i, "") : "")).replace(/^(?:an?|the|my)\s+/i, (m) => (explicit ? "" : m)).replace(/\s+(?:in my calendar|on my calendar|to my calendar|in the calendar)$/i, "") || "Event";
      const start = wall(t.resolved.local);
      const end = t.resolved.end ? wall(t.resolved.end) : undefined;
      const out = act.call<{ created: boolean; event?: EventRow; message?: string }>("add_event", { title, start, end });
      if (!out.created) return `${out.message} Should I book it anyway? Say it again with a different time, or ask me to move the other one.`;
      const e = out.event!;
      return `Added to your schedule: ${e.title}, ${localLabel(e.starts_at, act.zone)}-${localTimeLabel(e.ends_at, act.zone)}.`;
    },
  };
}

function query(clause: string): Intent {
  return {
    domain: "schedule",
    run(act) {
      const days = askedDays(act, clause, /\bweek\b/i.test(clause) ? "this_week" : "today");
      const { period, events } = act.call<{ period: string; events: EventRow[] }>("list_events", "period" in days ? { period: days.period } : { from: days.from, to: days.to });
      const label = "period" in days ? period : `on ${days.label}`;
      if (events.length === 0) return `Nothing on your schedule ${label}.`;
      return [`Your schedule ${label}:`, ...events.map((e) => `${localLabel(e.starts_at, act.zone)}-${localTimeLabel(e.ends_at, act.zone)} ${e.title}${e.location ? ` @ ${e.location}` : ""}`)].join("\n");
    },
  };
}

function upcoming(act: Act): EventRow[] {
  return act.call<{ events: EventRow[] }>("list_events", { period: "this_year" }).events.filter((e) => Date.parse(e.ends_at) > act.now.getTime());
}

function pick(act: Act, name: string): EventRow | string {
  return pickByName(upcoming(act), name, (e) => e.title, (e) => `#${e.id} ${e.title} (${localLabel(e.starts_at, act.zone)})`, `I couldn't find "${name}" on your schedule.`);
}

function remove(name: string): Intent {
  return onNamed("schedule", (act) => pick(act, name), (act, e) => {
    act.call("delete_event", { id: e.id });
    return `Removed from your schedule: ${e.title}, ${localLabel(e.starts_at, act.zone)}.`;
  });
}

function move(name: string, to: string): Intent {
  return onNamed("schedule", (act) => pick(act, name), (act, e) => {
    // "move the dentist to 4pm" keeps the dentist's day; "to friday at 4" names its own.
    const t = timeIn(act, to);
    const namesDay = /\b(?:today|tomorrow|tonight|next|mon|tue|wed|thu|fri|sat|sun|\d{1,2}(?:st|nd|rd|th)|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)/i.test(to);
    const day = DateTime.fromISO(e.starts_at, { zone: "utc" }).setZone(act.zone);
    const start = t && !namesDay ? wall(day.set({ hour: t.resolved.local.hour, minute: t.resolved.local.minute, second: 0, millisecond: 0 })) : to;
    const out = act.call<{ moved: boolean; event?: EventRow; message?: string }>("move_event", { id: e.id, start });
    if (!out.moved) return `${out.message} Should I move it anyway?`;
    return `Moved ${e.title} to ${localLabel(out.event!.starts_at, act.zone)}-${localTimeLabel(out.event!.ends_at, act.zone)}.`;
  });
}

/**
 * The schedule: "schedule dentist friday 3pm", "coffee with Lea on tuesday 10 to 11am",
 * "what's happening on wednesday?". Without a verb, a clause is an event when it names a future
 * time of day and reads like one (a range, "with Lea", "meeting", "dentist").
 */
export const recogniseSchedule: Recogniser = (clause, act) => {
  if (QUERY.some((re) => re.test(clause)) && !/\b(?:remind|task|spen[dt]|eat|ate|calories)\b/i.test(clause)) return query(clause);
  let m = clause.match(MOVE);
  if (m) return move(m[1]!, m[2]!);
  m = clause.match(DELETE);
  if (m && EVENTISH.test(clause)) return remove(m[1]!);
  m = clause.match(ADD);
  if (m) {
    const t = timeIn(act, m[1]!);
    if (t && (t.resolved.hadTime || /^(?:schedule|book|add|new)/i.test(clause))) return add(m[1]!.replace(/^(?:event|meeting)\s*:\s*/i, ""), true);
  }
  const t = timeIn(act, clause);
  if (t && t.resolved.hadTime && t.resolved.at.toMillis() > act.now.getTime() && (t.resolved.end || EVENTISH.test(clause)) && t.rest) return add(clause, false);
  return null;
};
