import { z } from "zod/v4";
import { PERIODS, type Period } from "../time/periods";
import { PAST_DEFAULT_HOUR, resolveTime, type ResolvedTime } from "../time/resolve-time";
import { defineTool, ToolError, type Tool, type ToolContext } from "./tool";

// What several tools are built from: one reading of a time, one lookup by id, a delete by id, a period summary.

/**
 * A time a tool was given, read in the user's zone, or a ToolError naming what could not be read.
 * `past`: the time of a record (a meal, a payment), so "Monday" is the last one and a day without
 * an hour means its midday. `after`: read relative to this instant instead of now (an end time).
 */
export function toolTime(ctx: ToolContext, text: string, what: string, o: { past?: boolean; after?: Date } = {}): ResolvedTime {
  const r = resolveTime(text, ctx.timezone(), o.after ?? ctx.now(), o.past ? { forwardDate: false, defaultHour: PAST_DEFAULT_HOUR } : {});
  if (!r) throw new ToolError(`I could not understand the ${what} "${text}".`);
  return r;
}

let byId: z.ZodObject<{ id: z.ZodNumber }> | undefined;
/** The arguments of a tool that takes one row's id; one schema shared by those tools, built on first use. */
export const ById = () => (byId ??= z.object({ id: z.number().int().positive() }));

/** Tables whose rows tools address by id (a constant, never user text, goes into the SQL). */
type IdTable = "tasks" | "reminders" | "schedule_events";

/** The row, or a not_found ToolError; `visible` hides rows that count as gone (a cancelled reminder). */
export function rowById<T>(ctx: ToolContext, table: IdTable, noun: string, id: number | bigint, visible: (row: T) => boolean = () => true): T {
  const row = ctx.db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) as T | undefined;
  if (!row || !visible(row)) throw new ToolError(`There is no ${noun} #${id}.`, "not_found");
  return row;
}

/** A tool that deletes one row by id and answers with the row as it was. */
export function deleteByIdTool(name: string, description: string, table: IdTable, noun: string): Tool<{ id: number }> {
  return defineTool({
    name,
    description,
    schema: ById,
    run(ctx, a) {
      const deleted = rowById(ctx, table, noun, a.id);
      ctx.db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(a.id);
      return { deleted };
    },
  });
}

/** A tool that summarises one named period (today, this week, ...). */
export function periodTool(name: string, description: string, defaultPeriod: Period, summarise: (ctx: ToolContext, period: Period) => unknown): Tool<{ period: Period }> {
  return defineTool({ name, description, schema: () => z.object({ period: z.enum(PERIODS).default(defaultPeriod) }), run: (ctx, a) => summarise(ctx, a.period) });
}
