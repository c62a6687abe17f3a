import type { MealType } from "../../tools/meal-tools";
import type { Intent, Recogniser } from "./intent";
import { askedDays, tidy, timeIn } from "./when";

const TYPES = "breakfast|brunch|lunch|dinner|supper|snack|dessert";
const typeOf = (w: string): MealType => {
  const t = w.toLowerCase();
  if (t === "brunch") return "breakfast";
  if (t === "supper") return "dinner";
  if (t === "dessert") return "snack";
  return t as MealType;
};

const CALORIES = /[,(~]?\s*(?:about|around|roughly|approx\.?|~)?\s*(\d{2,5})\s*(?:calories|kcal|cals?)\)?/i;
const LOG = [
  // "had pasta for lunch", "ate a banana", "log meal oatmeal"
  { re: /^(?:i\s+)?(?:just\s+)?(?:had|ate|eaten|have eaten|'ve eaten|'ve had|am having|grabbed|log(?:ged)? (?:a )?meal:?|meal:?|log (?:my )?(?:food|snack|breakfast|lunch|dinner):?|track (?:my )?(?:food|meal):?)\s+(.+)$/i, type: undefined },
  // "breakfast: oatmeal", "lunch was a burrito", "for dinner I had soup"
  { re: new RegExp(`^(?:my |for |today'?s )?(${TYPES})\\s*(?::|-|was|were|is|today was|today:)\\s*(.+)$`, "i"), type: 1 },
  { re: new RegExp(`^(?:for|at) (${TYPES}),? (?:i |we )?(?:had|ate|have had|'ve had)\\s+(.+)$`, "i"), type: 1 },
  // "oatmeal for breakfast"
  { re: new RegExp(`^(.+?)\\s+(?:for|as)\\s+(?:a\\s+|my\\s+)?(${TYPES})\\b(.*)$`, "i"), type: 2 },
] as const;
const SUMMARY = /\b(?:calories|kcal|nutrition|protein|macros)\b|\bwhat (?:did|have) i (?:eat|eaten|had)\b|\bmeals?\b.*\b(?:today|yesterday|week|logged)\b|\bhow (?:much|well) (?:did|have) i (?:eat|eaten)\b/i;
const GOAL = /\b(?:calorie|calories|kcal|protein)\s+(?:goal|target|limit)\b.*?(\d{2,5})|\b(?:goal|target|limit)\b.*?\b(\d{2,5})\s*(?:kcal|calories|g(?:rams)? (?:of )?protein)/i;

function log(what: string, mealType: MealType | undefined): Intent {
  return {
    domain: "meals",
    run(act) {
      let description = what;
      let calories: number | undefined;
      const cal = description.match(CALORIES);
      if (cal) {
        calories = Number(cal[1]);
        description = description.replace(cal[0], " ");
      }
      const t = timeIn(act, description, "past");
      description = tidy((t ? t.rest : description).replace(/\b(?:today|this (?:morning|evening|afternoon))\b/gi, " "));
      const { meal } = act.call<{ meal: { mealType: string } }>("log_meal", { description, mealType, calories, when: t?.when });
      return `Logged ${meal.mealType}: ${description}${calories ? ` (${calories} kcal)` : ""}.`;
    },
  };
}

function summary(clause: string): Intent {
  return {
    domain: "meals",
    run(act) {
      const days = askedDays(act, clause, "today", "past");
      const period = "period" in days ? days.period : "today";
      const s = act.call<{ period: string; meals: number; totals: { calories: number; proteinG: number } }>("nutrition_summary", { period });
      if (s.meals === 0) return `No meals logged ${s.period}.`;
      const protein = /\bprotein\b/i.test(clause) && s.totals.proteinG ? `, ${s.totals.proteinG} g protein` : "";
      return `${s.meals} meal${s.meals === 1 ? "" : "s"} logged ${s.period}${s.totals.calories ? `, ${s.totals.calories} kcal` : ""}${protein}.`;
    },
  };
}

function goal(clause: string, target: number): Intent {
  return {
    domain: "meals",
    run(act) {
      const nutrient = /\bprotein\b/i.test(clause) ? "protein_g" : "calories";
      act.call("set_nutrition_goal", { nutrient, dailyTarget: target });
      return `Daily ${nutrient === "calories" ? "calorie" : "protein"} goal set: ${target}${nutrient === "calories" ? " kcal" : " g"}.`;
    },
  };
}

/** Meals: "had dal and rice for lunch, 550 kcal", "breakfast: oatmeal", "how many calories today". */
export const recogniseMeal: Recogniser = (clause) => {
  const g = clause.match(GOAL);
  if (g) return goal(clause, Number(g[1] ?? g[2]));
  if (SUMMARY.test(clause) && /^(?:how|what|show|my|calories|nutrition|tell)/i.test(clause)) return summary(clause);
  for (const { re, type } of LOG) {
    const m = clause.match(re);
    if (!m) continue;
    if (type === undefined) {
      let what = m[1]!;
      const mt = what.match(new RegExp(`\\s*\\b(?:for|as)\\s+(?:a\\s+|my\\s+)?(${TYPES})\\b`, "i"));
      if (mt) what = what.replace(mt[0], " ");
      // "had a big breakfast: eggs and toast"
      const named = what.match(new RegExp(`^(?:a |an |my )?(?:\\w+ )?(${TYPES})\\s*[:,-]\\s*(.+)$`, "i"));
      if (named) return log(tidy(named[2]!), typeOf(named[1]!));
      // "had a meeting", "had a call": not food.
      if (/^(?:a |an )?(?:meeting|call|chat|talk|word|look|idea|dream|great day|good day|fight|shower|nap)\b/i.test(what)) return null;
      return log(tidy(what), mt ? typeOf(mt[1]!) : undefined);
    }
    if (type === 1) return log(tidy(m[2]!), typeOf(m[1]!));
    return log(tidy(`${m[1]} ${m[3] ?? ""}`), typeOf(m[2]!));
  }
  return null;
};
