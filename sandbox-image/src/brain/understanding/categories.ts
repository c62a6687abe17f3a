/** Spending categories by the words people use; the first that fits wins. */
const CATEGORY_WORDS: [RegExp, string][] = [
  [/\b(?:groceries|grocery|supermarket|market|aldi|lidl|rewe|tesco|walmart)\b/, "groceries"],
  [/\b(?:lunch|dinner|breakfast|brunch|coffees?|waiter|waitress|restaurant|cafe|café|food|snack|pizza|burger|sushi|takeaway|take-away|kebab|drinks?|beers?|wine|bar|ramen|chai|tea|bakery|sandwich|meal)\b/, "food"],
  [/\b(?:uber|lyft|taxi|cab|bus|train|tram|metro|subway|fuel|gas|petrol|parking|flight|ticket|toll|bike)\b/, "transport"],
  [/\b(?:rent|mortgage)\b/, "housing"],
  [/\b(?:electricity|water bill|internet|phone bill|utilities|heating|gas bill)\b/, "utilities"],
  [/\b(?:movie|movies|cinema|concert|netflix|spotify|game|games|theatre|theater|book|books)\b/, "entertainment"],
  [/\b(?:doctor|dentist|pharmacy|medicine|gym|physio|vitamins)\b/, "health"],
  [/\b(?:clothes|shoes|shirt|jacket|haircut|amazon|shopping)\b/, "shopping"],
];

export const CATEGORIES = ["food", "groceries", "transport", "housing", "utilities", "entertainment", "health", "shopping", "other"];

export function categoryOf(what: string): string {
  const t = what.toLowerCase();
  for (const [re, cat] of CATEGORY_WORDS) if (re.test(t)) return cat;
  return "other";
}
