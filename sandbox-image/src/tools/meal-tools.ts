import { DateTime } from "luxon";
import { z } from "zod/v4";
import { daysIn, periodRange, type Period } from "../time/periods";
import { toIso } from "../time/resolve-time";
import { defineTool, type ToolContext } from "./tool";
import { periodTool, toolTime } from "./tool-parts";

export type MealType = "breakfast" | "lunch" | "dinner" | "snack";
const NUTRIENTS = ["calories", "protein_g", "carbs_g", "fat_g"] as const;

/** A meal logged without a type gets one from the local hour it was eaten. */
export function mealTypeAt(local: DateTime): MealType {
  if (local.hour >= 5 && local.hour < 11) return "breakfast";
  if (local.hour >= 11 && local.hour < 16) return "lunch";
  if (local.hour >= 17 && local.hour < 22) return "dinner";
  return "snack";
}

export function insertMeal(
  ctx: ToolContext,
  a: { description: string; mealType?: MealType; calories?: number; proteinG?: number; carbsG?: number; fatG?: number; when?: string },
) {
  let eaten: DateTime = DateTime.fromJSDate(ctx.now()).setZone(ctx.timezone());
  if (a.when) eaten = toolTime(ctx, a.when, "time", { past: true }).local;
  const mealType = a.mealType ?? mealTypeAt(eaten);
  const info = ctx.db
    .prepare(
      `INSERT INTO meals (description, meal_type, calories, protein_g, carbs_g, fat_g, eaten_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(a.description.trim(), mealType, a.calories ?? null, a.proteinG ?? null, a.carbsG ?? null, a.fatG ?? null, toIso(eaten), ctx.now().toISOString());
  return { id: Number(info.lastInsertRowid), mealType, eatenAt: toIso(eaten) };
}

export const logMeal = defineTool({
  name: "log_meal",
  description: "Record a meal; estimate calories and macros when not given and you reasonably can.",
  schema: () => z.object({
    description: z.string().min(1).max(500),
    mealType: z.enum(["breakfast", "lunch", "dinner", "snack"]).optional(),
    calories: z.number().int().nonnegative().optional(),
    proteinG: z.number().nonnegative().optional(),
    carbsG: z.number().nonnegative().optional(),
    fatG: z.number().nonnegative().optional(),
    when: z.string().optional(),
  }),
  run: (ctx, a) => ({ meal: insertMeal(ctx, a) }),
});

export const setNutritionGoal = defineTool({
  name: "set_nutrition_goal",
  description: "Set a daily nutrition target (calories, protein_g, carbs_g or fat_g).",
  schema: () => z.object({ nutrient: z.enum(NUTRIENTS), dailyTarget: z.number().positive() }),
  run(ctx, a) {
    ctx.db
      .prepare(
        `INSERT INTO nutrition_goals (nutrient, daily_target, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (nutrient) DO UPDATE SET daily_target = excluded.daily_target, updated_at = excluded.updated_at`,
      )
      .run(a.nutrient, a.dailyTarget, ctx.now().toISOString());
    return { goal: a };
  },
});

export function nutritionSummary(ctx: ToolContext, period: Period) {
  const range = periodRange(period, ctx.timezone(), ctx.now());
  const totals = ctx.db
    .prepare(
      `SELECT COUNT(*) AS meals, COALESCE(SUM(calories), 0) AS calories, COALESCE(SUM(protein_g), 0) AS protein_g,
              COALESCE(SUM(carbs_g), 0) AS carbs_g, COALESCE(SUM(fat_g), 0) AS fat_g
       FROM meals WHERE eaten_at >= ? AND eaten_at < ?`,
    )
    .get(range.from, range.to) as Record<(typeof NUTRIENTS)[number] | "meals", number>;
  const goals = ctx.db.prepare("SELECT nutrient, daily_target FROM nutrition_goals").all() as { nutrient: (typeof NUTRIENTS)[number]; daily_target: number }[];
  const days = daysIn(range);
  return {
    period: range.label,
    meals: totals.meals,
    totals: { calories: totals.calories, proteinG: totals.protein_g, carbsG: totals.carbs_g, fatG: totals.fat_g },
    dailyAverage: { calories: Math.round(totals.calories / days), proteinG: Math.round(totals.protein_g / days) },
    goals: goals.map((g) => ({ nutrient: g.nutrient, dailyTarget: g.daily_target, periodTarget: g.daily_target * days, actual: totals[g.nutrient] })),
  };
}

export const nutritionSummaryTool = periodTool("nutrition_summary", "Meals, calories and macros in a period, against the daily goals.", "today", nutritionSummary);

export const MEAL_TOOLS = [logMeal, setNutritionGoal, nutritionSummaryTool];
