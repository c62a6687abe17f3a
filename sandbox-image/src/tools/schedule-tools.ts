import { z } from "zod/v4";
import { PERIODS, periodRange } from "../time/periods";
import { resolveTime, toIso } from "../time/resolve-time";
import { localLabel, localTimeLabel } from "./format";
import { defineTool, ToolError, type ToolContext } from "./tool";
import { ById, deleteByIdTool, rowById, toolTime } from "./tool-parts";

export interface EventRow {
  id: number;
  title: string;
  starts_at: string;
  ends_at: string;
  location: string | null;
  notes: string | null;
  created_at: string;
}

const eventById = (ctx: ToolContext, id: number | bigint) => rowById<EventRow>(ctx, "schedule_events", "event", id);

/** Events overlapping [start, end), except `excludeId`. Touching end-to-start is not a conflict. */
export function conflictsWith(ctx: ToolContext, startsAt: string, endsAt: string, excludeId?: number): EventRow[] {
  return ctx.db
    .prepare("SELECT * FROM schedule_events WHERE starts_at < ? AND ends_at > ? AND id != ? ORDER BY starts_at")
    .all(endsAt, startsAt, excludeId ?? -1) as EventRow[];
}

function describeConflicts(ctx: ToolContext, rows: EventRow[]): string {
  const zone = ctx.timezone();
  return rows.map((e) => `"${e.title}" (${localLabel(e.starts_at, zone)}-${localTimeLabel(e.ends_at, zone)})`).join(", ");
}

function resolveSpan(ctx: ToolContext, start: string, end: string | undefined, durationMinutes: number | undefined) {
  const s = toolTime(ctx, start, "start time");
  const endsAt = toIso(end ? toolTime(ctx, end, "end time", { after: s.at.toJSDate() }).at : s.at.plus({ minutes: durationMinutes ?? 60 }));
  const startsAt = toIso(s.at);
  if (endsAt <= startsAt) throw new ToolError("The event has to end after it starts.");
  return { startsAt, endsAt };
}

export const addEvent = defineTool({
  name: "add_event",
  description:
    "Add an event. On overlap it refuses and names the other event, unless allowConflict (ask the user first).",
  schema: () => z.object({
    title: z.string().min(1).max(300),
    start: z.string().min(1).describe("user's words or ISO-8601"),
    end: z.string().optional(),
    durationMinutes: z.number().int().positive().max(24 * 60).optional(),
    location: z.string().optional(),
    notes: z.string().optional(),
    allowConflict: z.boolean().default(false),
  }),
  run(ctx, a) {
    const { startsAt, endsAt } = resolveSpan(ctx, a.start, a.end, a.durationMinutes);
    const conflicts = conflictsWith(ctx, startsAt, endsAt);
    if (conflicts.length > 0 && !a.allowConflict) {
      return { created: false, conflicts, message: `That overlaps with ${describeConflicts(ctx, conflicts)}.` };
    }
    const info = ctx.db
      .prepare("INSERT INTO schedule_events (title, starts_at, ends_at, location, notes, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(a.title.trim(), startsAt, endsAt, a.location ?? null, a.notes ?? null, ctx.now().toISOString());
    const event = eventById(ctx, info.lastInsertRowid);
    return { created: true, event, conflicts };
  },
});

export const listEvents = defineTool({
  name: "list_events",
  description: "List schedule events in a period (default today) or between two times.",
  schema: () => z.object({
    period: z.enum(PERIODS).optional(),
    from: z.string().optional(),
    to: z.string().optional(),
  }),
  run(ctx, a) {
    let from: string;
    let to: string;
    let label: string;
    if (a.from && a.to) {
      const f = resolveTime(a.from, ctx.timezone(), ctx.now());
      const t = resolveTime(a.to, ctx.timezone(), ctx.now());
      if (!f || !t) throw new ToolError("I could not understand that time range.");
      ({ from, to } = { from: toIso(f.at), to: toIso(t.at) });
      label = `${localLabel(from, ctx.timezone())} to ${localLabel(to, ctx.timezone())}`;
    } else {
      ({ from, to, label } = periodRange(a.period ?? "today", ctx.timezone(), ctx.now()));
    }
    const events = ctx.db
      .prepare("SELECT * FROM schedule_events WHERE starts_at < ? AND ends_at > ? ORDER BY starts_at")
      .all(to, from) as EventRow[];
    return { period: label, events };
  },
});

export const moveEvent = defineTool({
  name: "move_event",
  description: "Move an event to a new start, keeping its length. Refuses on overlap unless allowConflict.",
  schema: () => z.object({
    id: z.number().int().positive(),
    start: z.string().min(1),
    allowConflict: z.boolean().default(false),
  }),
  run(ctx, a) {
    const ev = eventById(ctx, a.id);
    const minutes = (Date.parse(ev.ends_at) - Date.parse(ev.starts_at)) / 60_000;
    const { startsAt, endsAt } = resolveSpan(ctx, a.start, undefined, minutes);
    const conflicts = conflictsWith(ctx, startsAt, endsAt, ev.id);
    if (conflicts.length > 0 && !a.allowConflict) {
      return { moved: false, conflicts, message: `That overlaps with ${describeConflicts(ctx, conflicts)}.` };
    }
    ctx.db.prepare("UPDATE schedule_events SET starts_at = ?, ends_at = ? WHERE id = ?").run(startsAt, endsAt, ev.id);
    return { moved: true, event: { ...ev, starts_at: startsAt, ends_at: endsAt }, conflicts };
  },
});

export const deleteEvent = deleteByIdTool("delete_event", "Delete an event by id.", "schedule_events", "event");

export const SCHEDULE_TOOLS = [addEvent, listEvents, moveEvent, deleteEvent];
