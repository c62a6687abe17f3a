/**
 * Everyday requests, as people type them, with the rows each must leave in the agent's SQLite
 * database. The clock is Wednesday 18 November 2026, 09:00 in Europe/Berlin (08:00 UTC); the
 * user's currency is the default, USD. Written by hand to cover every domain, with greetings,
 * filler and several requests in one message; see offline-phrasing.test.ts.
 */
export interface PhrasingCase {
  text: string;
  /** Tool calls made first (same tools, same rows), so there is something to list, complete or find. */
  seed?: [string, Record<string, unknown>][];
  /** One SELECT per table the request should touch, and exactly the rows it must return. */
  expect: { sql: string; rows: Record<string, unknown>[] }[];
  /** For questions: what the reply must say. */
  reply?: RegExp;
}

const R = "SELECT text, due_at, recurrence, urgent, status FROM reminders ORDER BY id";
const T = "SELECT title, status, due_at FROM tasks ORDER BY id";
const E = "SELECT amount_minor, currency, category, description FROM expenses ORDER BY id";
const I = "SELECT amount_minor, currency, source FROM income ORDER BY id";
const S = "SELECT title, starts_at, ends_at FROM schedule_events ORDER BY id";
const M = "SELECT description, meal_type, calories FROM meals ORDER BY id";
const F = "SELECT fact FROM memory_facts ORDER BY id";
const C = "SELECT name, phone, email, relationship FROM contacts ORDER BY id";
const P = "SELECT name, timezone FROM profile";

const rem = (text: string, due_at: string, recurrence: string | null = null, urgent = 0, status = "pending") => ({ text, due_at, recurrence, urgent, status });
const task = (title: string, status = "open", due_at: string | null = null) => ({ title, status, due_at });
const exp = (amount_minor: number, currency: string, category: string, description: string) => ({ amount_minor, currency, category, description });
const ev = (title: string, starts_at: string, ends_at: string) => ({ title, starts_at, ends_at });
const meal = (description: string, meal_type: string, calories: number | null = null) => ({ description, meal_type, calories });
/** A table's row count after the request: for a question, what the seed left there. */
const count = (table: string, n: number) => ({ sql: `SELECT COUNT(*) AS n FROM ${table}`, rows: [{ n }] });
const z = (hhmm: string, day = "18") => `2026-11-${day}T${hhmm}:00.000Z`;

const TASKS: PhrasingCase["seed"] = [["add_task", { title: "buy milk" }], ["add_task", { title: "finish the report" }]];
const REMINDERS: PhrasingCase["seed"] = [["set_reminder", { text: "call the dentist", when: "2026-11-19T10:00" }], ["set_reminder", { text: "buy milk", when: "2026-11-18T18:00" }]];
const DENTIST: PhrasingCase["seed"] = [["add_event", { title: "dentist", start: "2026-11-20T15:00" }]];
const SPENT: PhrasingCase["seed"] = [
  ["log_expense", { amount: 12.5, category: "food", description: "lunch" }],
  ["log_expense", { amount: 40, category: "transport", description: "taxi" }],
];
const MEALS: PhrasingCase["seed"] = [["log_meal", { description: "oatmeal", calories: 350 }], ["log_meal", { description: "salad", mealType: "lunch", calories: 450 }]];
const FACTS: PhrasingCase["seed"] = [["remember", { fact: "My sister's name is Anna" }], ["remember", { fact: "I work at Siemens" }], ["remember", { fact: "Lea is my colleague" }], ["remember", { fact: "My dog is called Rex" }]];
const PEOPLE: PhrasingCase["seed"] = [
  ["add_contact", { name: "Lea", phone: "+49 176 1234567" }],
  ["add_contact", { name: "Bob Smith", email: "bob@example.com" }],
  ["add_contact", { name: "Dr Weber", phone: "030 1234567", relationship: "dentist" }],
];

export const CORPUS: PhrasingCase[] = [
  // Reminders: one-off, relative, recurring, urgent, listing and cancelling by name.
  { text: "remind me to water the plants tonight at 8", expect: [{ sql: R, rows: [rem("water the plants", z("19:00"))] }] },
  { text: "Remind me to call mom tomorrow at 5pm", expect: [{ sql: R, rows: [rem("call mom", z("16:00", "19"))] }] },
  { text: "remind me in 20 minutes to take the pizza out", expect: [{ sql: R, rows: [rem("take the pizza out", z("08:20"))] }] },
  { text: "can you remind me to pay the electricity bill on friday at 10am", expect: [{ sql: R, rows: [rem("pay the electricity bill", z("09:00", "20"))] }] },
  { text: "please remind me at 6pm to buy bread", expect: [{ sql: R, rows: [rem("buy bread", z("17:00"))] }] },
  { text: "remind me to take my vitamins every day at 8am", expect: [{ sql: R, rows: [rem("take my vitamins", z("07:00", "19"), "daily")] }] },
  { text: "remind me every monday at 9 to send the weekly report", expect: [{ sql: R, rows: [rem("send the weekly report", z("08:00", "23"), "weekly")] }] },
  { text: "set a reminder for the dentist appointment tomorrow at 2pm", expect: [{ sql: R, rows: [rem("the dentist appointment", z("13:00", "19"))] }] },
  { text: "don't let me forget to call the bank at 3pm", expect: [{ sql: R, rows: [rem("call the bank", z("14:00"))] }] },
  { text: "remind me to renew my passport on monday", expect: [{ sql: R, rows: [rem("renew my passport", z("08:00", "23"))] }] },
  { text: "remind me about the parcel in 2 hours", expect: [{ sql: R, rows: [rem("the parcel", z("10:00"))] }] },
  { text: "Reminder: pick up the kids at 3:30pm", expect: [{ sql: R, rows: [rem("pick up the kids", z("14:30"))] }] },
  { text: "remind me to stretch every day at 3pm", expect: [{ sql: R, rows: [rem("stretch", z("14:00"), "daily")] }] },
  { text: "remind me to pay rent every month on the 1st at 9am", expect: [{ sql: R, rows: [rem("pay rent", "2026-12-01T08:00:00.000Z", "monthly")] }] },
  { text: "remind me to call the landlord at 11am, it's urgent", expect: [{ sql: R, rows: [rem("call the landlord", z("10:00"), null, 1)] }] },
  { text: "remind me tomorrow morning to water the garden", expect: [{ sql: R, rows: [rem("water the garden", z("08:00", "19"))] }] },
  { text: "ping me at 4pm to join the call", expect: [{ sql: R, rows: [rem("join the call", z("15:00"))] }] },
  { text: "remind me to check the oven in 45 minutes", expect: [{ sql: R, rows: [rem("check the oven", z("08:45"))] }] },
  { text: "remind me to breathe", expect: [{ sql: R, rows: [] }], reply: /When should I remind you/ },
  { text: "what are my reminders?", seed: REMINDERS, expect: [{ sql: "SELECT COUNT(*) AS n FROM reminders WHERE status = 'pending'", rows: [{ n: 2 }] }], reply: /buy milk[\s\S]*call the dentist/ },
  { text: "show me my reminders", seed: REMINDERS, expect: [count("reminders", 2)], reply: /#1 call the dentist: Thu 19 Nov 10:00/ },
  { text: "cancel the reminder about the dentist", seed: REMINDERS, expect: [{ sql: "SELECT text, status FROM reminders ORDER BY id", rows: [{ text: "call the dentist", status: "cancelled" }, { text: "buy milk", status: "pending" }] }] },
  { text: "cancel my dentist reminder", seed: REMINDERS, expect: [{ sql: "SELECT status FROM reminders ORDER BY id", rows: [{ status: "cancelled" }, { status: "pending" }] }] },
  { text: "delete reminder 2", seed: REMINDERS, expect: [{ sql: "SELECT status FROM reminders ORDER BY id", rows: [{ status: "pending" }, { status: "cancelled" }] }] },
  { text: "stop reminding me to buy milk", seed: REMINDERS, expect: [{ sql: "SELECT status FROM reminders ORDER BY id", rows: [{ status: "pending" }, { status: "cancelled" }] }] },

  // Tasks: add in many phrasings, list, complete and delete by number or by name.
  { text: "add task buy milk", expect: [{ sql: T, rows: [task("buy milk")] }] },
  { text: "add buy eggs to my shopping list", expect: [{ sql: T, rows: [task("buy eggs")] }] },
  { text: "todo: call the plumber", expect: [{ sql: T, rows: [task("call the plumber")] }] },
  { text: "put book flights on my to-do list", expect: [{ sql: T, rows: [task("book flights")] }] },
  { text: "new task: renew car insurance", expect: [{ sql: T, rows: [task("renew car insurance")] }] },
  { text: "I need to return the library books", expect: [{ sql: T, rows: [task("return the library books")] }] },
  { text: "I have to finish the report by friday", expect: [{ sql: T, rows: [task("finish the report", "open", z("08:00", "20"))] }] },
  { text: "add a task to clean the garage", expect: [{ sql: T, rows: [task("clean the garage")] }] },
  { text: "add call grandma to my tasks", expect: [{ sql: T, rows: [task("call grandma")] }] },
  { text: "what are my tasks?", seed: TASKS, expect: [{ sql: T, rows: [task("buy milk"), task("finish the report")] }], reply: /#1 buy milk\n#2 finish the report/ },
  { text: "what's on my to-do list", seed: TASKS, expect: [{ sql: T, rows: [task("buy milk"), task("finish the report")] }], reply: /#2 finish the report/ },
  { text: "what do I need to do", seed: TASKS, expect: [{ sql: T, rows: [task("buy milk"), task("finish the report")] }], reply: /#1 buy milk/ },
  { text: "show my todos", seed: TASKS, expect: [{ sql: T, rows: [task("buy milk"), task("finish the report")] }], reply: /Your open tasks/ },
  { text: "done 1", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "done" }, { status: "open" }] }] },
  { text: "mark 2 as done", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "open" }, { status: "done" }] }] },
  { text: "complete task #1", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "done" }, { status: "open" }] }] },
  { text: "I finished the report", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "open" }, { status: "done" }] }] },
  { text: "buy milk is done", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "done" }, { status: "open" }] }] },
  { text: "tick off buy milk", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "done" }, { status: "open" }] }] },
  { text: "done with the report", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "open" }, { status: "done" }] }] },
  { text: "delete task 2", seed: TASKS, expect: [{ sql: T, rows: [task("buy milk")] }] },
  { text: "remove buy milk from my list", seed: TASKS, expect: [{ sql: T, rows: [task("finish the report")] }] },

  // Money: amounts in common formats and currencies, income, summaries by period and category.
  { text: "lunch was 9,80 €", expect: [{ sql: E, rows: [exp(980, "EUR", "food", "lunch")] }] },
  { text: "spent €9.80 on coffee", expect: [{ sql: E, rows: [exp(980, "EUR", "food", "coffee")] }] },
  { text: "taxi 12.50 EUR", expect: [{ sql: E, rows: [exp(1250, "EUR", "transport", "taxi")] }] },
  { text: "$5 for a sandwich", expect: [{ sql: E, rows: [exp(500, "USD", "food", "a sandwich")] }] },
  { text: "rent was 1.234,56 €", expect: [{ sql: E, rows: [exp(123456, "EUR", "housing", "rent")] }] },
  { text: "spent 12.50 on lunch", expect: [{ sql: E, rows: [exp(1250, "USD", "food", "lunch")] }] },
  { text: "I paid 40 dollars for gas", expect: [{ sql: E, rows: [exp(4000, "USD", "transport", "gas")] }] },
  { text: "groceries 56,30 €", expect: [{ sql: E, rows: [exp(5630, "EUR", "groceries", "groceries")] }] },
  { text: "coffee cost me 3.20", expect: [{ sql: E, rows: [exp(320, "USD", "food", "coffee")] }] },
  { text: "bought a book for £15", expect: [{ sql: E, rows: [exp(1500, "GBP", "entertainment", "a book")] }] },
  { text: "paid 30 pounds for a haircut", expect: [{ sql: E, rows: [exp(3000, "GBP", "shopping", "a haircut")] }] },
  { text: "spent 300 inr on groceries", expect: [{ sql: E, rows: [exp(30000, "INR", "groceries", "groceries")] }] },
  { text: "uber home was $18", expect: [{ sql: E, rows: [exp(1800, "USD", "transport", "uber home")] }] },
  { text: "dinner yesterday 45 EUR", expect: [{ sql: "SELECT amount_minor, currency, category, description, spent_at FROM expenses", rows: [{ ...exp(4500, "EUR", "food", "dinner"), spent_at: z("11:00", "17") }] }] },
  { text: "I spent 20 bucks on beer", expect: [{ sql: E, rows: [exp(2000, "USD", "food", "beer")] }] },
  { text: "Netflix 15.99 USD", expect: [{ sql: E, rows: [exp(1599, "USD", "entertainment", "Netflix")] }] },
  { text: "CHF 25 for the train", expect: [{ sql: E, rows: [exp(2500, "CHF", "transport", "the train")] }] },
  { text: "¥800 ramen", expect: [{ sql: E, rows: [exp(800, "JPY", "food", "ramen")] }] },
  { text: "expense 20 taxi", expect: [{ sql: E, rows: [exp(2000, "USD", "transport", "taxi")] }] },
  { text: "log 7,50 € for parking", expect: [{ sql: E, rows: [exp(750, "EUR", "transport", "parking")] }] },
  { text: "2 coffees 6,40 €", expect: [{ sql: E, rows: [exp(640, "EUR", "food", "2 coffees")] }] },
  { text: "€4 tip for the waiter", expect: [{ sql: E, rows: [exp(400, "EUR", "food", "tip for the waiter")] }] },
  { text: "got paid 1500 eur", expect: [{ sql: I, rows: [{ amount_minor: 150000, currency: "EUR", source: "other" }] }] },
  { text: "earned 200 from freelance", expect: [{ sql: I, rows: [{ amount_minor: 20000, currency: "USD", source: "freelance" }] }] },
  { text: "received my salary, 2.500,00 €", expect: [{ sql: I, rows: [{ amount_minor: 250000, currency: "EUR", source: "salary" }] }] },
  { text: "I sold my old bike for 120 euros", expect: [{ sql: I, rows: [{ amount_minor: 12000, currency: "EUR", source: "sale" }] }] },
  { text: "my client paid me $800", expect: [{ sql: I, rows: [{ amount_minor: 80000, currency: "USD", source: "client" }] }] },
  { text: "how much did I spend this week?", seed: SPENT, expect: [count("expenses", 2)], reply: /You spent \$52\.50 this week \(transport \$40\.00, food \$12\.50\)/ },
  { text: "what did I spend on food this month", seed: SPENT, expect: [count("expenses", 2)], reply: /\$12\.50 on food this month/ },
  { text: "spending today", seed: SPENT, expect: [count("expenses", 2)], reply: /You spent \$52\.50 today/ },
  { text: "how much have I earned this month", seed: [["log_income", { amount: 900, source: "salary" }]], expect: [count("income", 1)], reply: /You earned \$900\.00 this month/ },
  { text: "show me my expenses for last month", seed: SPENT, expect: [count("expenses", 2)], reply: /Nothing spent last month/ },

  // Schedule: events with times and ranges, queries by day, conflicts, moving and cancelling.
  { text: "coffee with Lea on tuesday 10 to 11am", expect: [{ sql: S, rows: [ev("coffee with Lea", z("09:00", "24"), z("10:00", "24"))] }] },
  { text: "schedule dentist friday at 3pm", expect: [{ sql: S, rows: [ev("dentist", z("14:00", "20"), z("15:00", "20"))] }] },
  { text: "book a meeting with Tom tomorrow from 2 to 3pm", expect: [{ sql: S, rows: [ev("meeting with Tom", z("13:00", "19"), z("14:00", "19"))] }] },
  { text: "team standup tomorrow 9:30-9:45", expect: [{ sql: S, rows: [ev("team standup", z("08:30", "19"), z("08:45", "19"))] }] },
  { text: "lunch with Ana on friday at 12:30", expect: [{ sql: S, rows: [ev("lunch with Ana", z("11:30", "20"), z("12:30", "20"))] }] },
  { text: "add an appointment: haircut saturday 11am", expect: [{ sql: S, rows: [ev("haircut", z("10:00", "21"), z("11:00", "21"))] }] },
  { text: "I have a doctor's appointment on monday at 8:15", expect: [{ sql: S, rows: [ev("doctor's appointment", z("07:15", "23"), z("08:15", "23"))] }] },
  { text: "yoga class thursday 6 to 7pm", expect: [{ sql: S, rows: [ev("yoga class", z("17:00", "19"), z("18:00", "19"))] }] },
  { text: "put the school play in my calendar for friday at 5pm", expect: [{ sql: S, rows: [ev("school play", z("16:00", "20"), z("17:00", "20"))] }] },
  { text: "schedule call with the bank tomorrow at 11", expect: [{ sql: S, rows: [ev("call with the bank", z("10:00", "19"), z("11:00", "19"))] }] },
  { text: "dinner with Marco on saturday at 8pm", expect: [{ sql: S, rows: [ev("dinner with Marco", z("19:00", "21"), z("20:00", "21"))] }] },
  { text: "flight to Lisbon on sunday at 7am", expect: [{ sql: S, rows: [ev("flight to Lisbon", z("06:00", "22"), z("07:00", "22"))] }] },
  { text: "interview at 4pm tomorrow", expect: [{ sql: S, rows: [ev("interview", z("15:00", "19"), z("16:00", "19"))] }] },
  { text: "meeting with Bob friday at 3:30pm", seed: DENTIST, expect: [{ sql: S, rows: [ev("dentist", z("14:00", "20"), z("15:00", "20"))] }], reply: /overlaps with "dentist"/ },
  { text: "what's happening on friday?", seed: DENTIST, expect: [{ sql: S, rows: [ev("dentist", z("14:00", "20"), z("15:00", "20"))] }], reply: /^Your schedule on Friday 20 Nov:\nFri 20 Nov 15:00-16:00 dentist$/ },
  { text: "what do I have on thursday?", seed: DENTIST, expect: [count("schedule_events", 1)], reply: /^Nothing on your schedule on Thursday 19 Nov\.$/ },
  { text: "what's on my schedule tomorrow", seed: [["add_event", { title: "gym", start: "2026-11-19T18:00" }]], expect: [count("schedule_events", 1)], reply: /Thu 19 Nov 18:00-19:00 gym/ },
  { text: "am I free on saturday?", seed: DENTIST, expect: [count("schedule_events", 1)], reply: /Nothing on your schedule on Saturday 21 Nov/ },
  { text: "show my calendar for next week", seed: DENTIST, expect: [count("schedule_events", 1)], reply: /dentist/ },
  { text: "anything on monday?", seed: [["add_event", { title: "standup", start: "2026-11-23T09:30", durationMinutes: 15 }]], expect: [count("schedule_events", 1)], reply: /Monday 23 Nov:\nMon 23 Nov 09:30-09:45 standup/ },
  { text: "how does my day look", seed: [["add_event", { title: "lunch with Ana", start: "2026-11-18T12:30" }]], expect: [count("schedule_events", 1)], reply: /today:\nWed 18 Nov 12:30-13:30 lunch with Ana/ },
  { text: "any meetings this week?", seed: DENTIST, expect: [count("schedule_events", 1)], reply: /this week:\nFri 20 Nov 15:00-16:00 dentist/ },
  { text: "what's on today?", expect: [{ sql: S, rows: [] }], reply: /^Nothing on your schedule today\.$/ },
  { text: "cancel the dentist appointment", seed: DENTIST, expect: [{ sql: S, rows: [] }] },
  { text: "move the dentist to 4pm", seed: DENTIST, expect: [{ sql: S, rows: [ev("dentist", z("15:00", "20"), z("16:00", "20"))] }] },
  { text: "reschedule the dentist to thursday at 1pm", seed: DENTIST, expect: [{ sql: S, rows: [ev("dentist", z("12:00", "19"), z("13:00", "19"))] }] },

  // Meals: with and without calories, meal types in several phrasings, summaries and goals.
  { text: "had pasta for lunch", expect: [{ sql: M, rows: [meal("pasta", "lunch")] }] },
  { text: "had dal and rice for lunch, 550 kcal", expect: [{ sql: M, rows: [meal("dal and rice", "lunch", 550)] }] },
  { text: "breakfast: oatmeal with berries, 350 kcal", expect: [{ sql: M, rows: [meal("oatmeal with berries", "breakfast", 350)] }] },
  { text: "for dinner I had chicken curry", expect: [{ sql: M, rows: [meal("chicken curry", "dinner")] }] },
  { text: "ate a banana", expect: [{ sql: M, rows: [meal("a banana", "breakfast")] }] },
  { text: "I just ate a salad, about 400 calories", expect: [{ sql: M, rows: [meal("a salad", "breakfast", 400)] }] },
  { text: "lunch was a burrito (700 kcal)", expect: [{ sql: M, rows: [meal("a burrito", "lunch", 700)] }] },
  { text: "snack: an apple", expect: [{ sql: M, rows: [meal("an apple", "snack")] }] },
  { text: "log meal oatmeal", expect: [{ sql: M, rows: [meal("oatmeal", "breakfast")] }] },
  { text: "yogurt and granola for breakfast", expect: [{ sql: M, rows: [meal("yogurt and granola", "breakfast")] }] },
  { text: "had a steak for dinner yesterday", expect: [{ sql: "SELECT description, meal_type, eaten_at FROM meals", rows: [{ description: "a steak", meal_type: "dinner", eaten_at: z("11:00", "17") }] }] },
  { text: "had sushi, 600 cal", expect: [{ sql: M, rows: [meal("sushi", "breakfast", 600)] }] },
  { text: "I had a coffee and a croissant", expect: [{ sql: M, rows: [meal("a coffee and a croissant", "breakfast")] }] },
  { text: "dinner: soup and bread", expect: [{ sql: M, rows: [meal("soup and bread", "dinner")] }] },
  { text: "ate 2 slices of pizza for dinner", expect: [{ sql: M, rows: [meal("2 slices of pizza", "dinner")] }] },
  { text: "how many calories today?", seed: MEALS, expect: [count("meals", 2)], reply: /2 meals logged today, 800 kcal/ },
  { text: "what did I eat yesterday", seed: MEALS, expect: [count("meals", 2)], reply: /No meals logged yesterday/ },
  { text: "calories this week", seed: MEALS, expect: [count("meals", 2)], reply: /2 meals logged this week, 800 kcal/ },
  { text: "set my calorie goal to 2000", expect: [{ sql: "SELECT nutrient, daily_target FROM nutrition_goals", rows: [{ nutrient: "calories", daily_target: 2000 }] }] },
  { text: "my protein target is 120g a day", expect: [{ sql: "SELECT nutrient, daily_target FROM nutrition_goals", rows: [{ nutrient: "protein_g", daily_target: 120 }] }] },

  // Memory: facts about the user and the people around them, and recall.
  { text: "remember that I'm vegetarian", expect: [{ sql: F, rows: [{ fact: "I'm vegetarian" }] }] },
  { text: "remember my sister's name is Anna", expect: [{ sql: F, rows: [{ fact: "my sister's name is Anna" }] }] },
  { text: "my wife's birthday is on 3 March", expect: [{ sql: F, rows: [{ fact: "my wife's birthday is on 3 March" }] }] },
  { text: "I'm allergic to peanuts", expect: [{ sql: F, rows: [{ fact: "I'm allergic to peanuts" }] }] },
  { text: "I live in Berlin", expect: [{ sql: F, rows: [{ fact: "I live in Berlin" }] }] },
  { text: "I work at Siemens as an engineer", expect: [{ sql: F, rows: [{ fact: "I work at Siemens as an engineer" }] }] },
  { text: "Lea is my sister", expect: [{ sql: F, rows: [{ fact: "Lea is my sister" }] }] },
  { text: "note that Tom prefers tea", expect: [{ sql: F, rows: [{ fact: "Tom prefers tea" }] }] },
  { text: "I don't eat pork", expect: [{ sql: F, rows: [{ fact: "I don't eat pork" }] }] },
  { text: "my favourite colour is green", expect: [{ sql: F, rows: [{ fact: "my favourite colour is green" }] }] },
  { text: "I have two kids", expect: [{ sql: F, rows: [{ fact: "I have two kids" }] }] },
  { text: "keep in mind that I work night shifts on weekends", expect: [{ sql: F, rows: [{ fact: "I work night shifts on weekends" }] }] },
  { text: "what do you know about me?", seed: FACTS, expect: [count("memory_facts", 4)], reply: /I work at Siemens/ },
  { text: "what's my sister's name?", seed: FACTS, expect: [count("memory_facts", 4)], reply: /My sister's name is Anna/ },
  { text: "who is Lea?", seed: FACTS, expect: [count("memory_facts", 4)], reply: /Lea is my colleague/ },
  { text: "where do I work?", seed: FACTS, expect: [count("memory_facts", 4)], reply: /I work at Siemens/ },
  { text: "do you remember what my dog is called?", seed: FACTS, expect: [count("memory_facts", 4)], reply: /Rex/ },
  { text: "forget that I work at Siemens", seed: FACTS, expect: [{ sql: "SELECT COUNT(*) AS n FROM memory_facts WHERE fact LIKE '%Siemens%'", rows: [{ n: 0 }] }] },

  // Contacts: save and look up.
  { text: "save Lea's number +49 176 1234567", expect: [{ sql: C, rows: [{ name: "Lea", phone: "+49 176 1234567", email: null, relationship: null }] }] },
  { text: "Tom's email is tom@example.com", expect: [{ sql: C, rows: [{ name: "Tom", phone: null, email: "tom@example.com", relationship: null }] }] },
  { text: "add contact Bob Smith, 0151 2345678", expect: [{ sql: C, rows: [{ name: "Bob Smith", phone: "0151 2345678", email: null, relationship: null }] }] },
  { text: "my dentist is Dr Weber, 030 1234567", expect: [{ sql: C, rows: [{ name: "Dr Weber", phone: "030 1234567", email: null, relationship: "dentist" }] }] },
  { text: "save contact: Anna Müller, anna.mueller@example.com", expect: [{ sql: C, rows: [{ name: "Anna Müller", phone: null, email: "anna.mueller@example.com", relationship: null }] }] },
  { text: "mom's phone is 0171 555 1234", expect: [{ sql: C, rows: [{ name: "mom", phone: "0171 555 1234", email: null, relationship: "mom" }] }] },
  { text: "save Marco's number 333 444 5555", expect: [{ sql: C, rows: [{ name: "Marco", phone: "333 444 5555", email: null, relationship: null }] }] },
  { text: "what's Lea's number?", seed: PEOPLE, expect: [count("contacts", 3)], reply: /Lea: \+49 176 1234567/ },
  { text: "find Bob's email", seed: PEOPLE, expect: [count("contacts", 3)], reply: /bob@example\.com/ },
  { text: "how do I reach Bob?", seed: PEOPLE, expect: [count("contacts", 3)], reply: /Bob Smith: bob@example\.com/ },
  { text: "who is my dentist?", seed: PEOPLE, expect: [count("contacts", 3)], reply: /Dr Weber \(dentist\): 030 1234567/ },
  { text: "what is the phone number of Lea", seed: PEOPLE, expect: [count("contacts", 3)], reply: /\+49 176 1234567/ },

  // Profile and small talk.
  { text: "my name is Sam", expect: [{ sql: P, rows: [{ name: "Sam", timezone: null }] }] },
  { text: "call me Alex", expect: [{ sql: P, rows: [{ name: "Alex", timezone: null }] }] },
  { text: "my timezone is Europe/Lisbon", expect: [{ sql: P, rows: [{ name: null, timezone: "Europe/Lisbon" }] }] },
  { text: "hi", expect: [count("tasks", 0)], reply: /^Hi! What can I do for you\?$/ },
  { text: "thanks!", expect: [count("tasks", 0)], reply: /^You're welcome!$/ },
  { text: "who are you?", expect: [count("memory_facts", 0)], reply: /^I'm your personal assistant/ },
  { text: "what can you do?", expect: [count("tasks", 0)], reply: /reminders, tasks, schedule/ },
  { text: "good morning", expect: [count("tasks", 0)], reply: /^Good morning!/ },
  { text: "bye", expect: [count("tasks", 0)], reply: /Bye/ },
  { text: "how are you?", expect: [count("tasks", 0)], reply: /All good/ },

  // Greetings and filler around requests, and several requests in one message.
  { text: "Hi, I'm Sam - remind me to water the plants tonight at 8", expect: [{ sql: P, rows: [{ name: "Sam", timezone: null }] }, { sql: R, rows: [rem("water the plants", z("19:00"))] }] },
  { text: "add milk to my list and remind me to call mom at 5pm", expect: [{ sql: T, rows: [task("milk")] }, { sql: R, rows: [rem("call mom", z("16:00"))] }] },
  { text: "spent 12 € on lunch and had a salad for lunch", expect: [{ sql: E, rows: [exp(1200, "EUR", "food", "lunch")] }, { sql: M, rows: [meal("a salad", "lunch")] }] },
  { text: "Hey! remind me to call Bob tomorrow at 10, thanks", expect: [{ sql: R, rows: [rem("call Bob", z("09:00", "19"))] }] },
  { text: "Good evening. I spent $30 on groceries. Also add task clean the fridge.", expect: [{ sql: E, rows: [exp(3000, "USD", "groceries", "groceries")] }, { sql: T, rows: [task("clean the fridge")] }] },
  { text: "ok so remind me at 5pm to call Bob", expect: [{ sql: R, rows: [rem("call Bob", z("16:00"))] }] },
  { text: "could you please add task file taxes?", expect: [{ sql: T, rows: [task("file taxes")] }] },
  { text: "schedule dentist friday at 3pm; remind me to bring the insurance card friday at 2pm", expect: [{ sql: S, rows: [ev("dentist", z("14:00", "20"), z("15:00", "20"))] }, { sql: R, rows: [rem("bring the insurance card", z("13:00", "20"))] }] },
  { text: "lunch was 9,80 € and coffee 2,50 €", expect: [{ sql: E, rows: [exp(980, "EUR", "food", "lunch"), exp(250, "EUR", "food", "coffee")] }] },
  { text: "thanks, and what are my tasks?", seed: TASKS, expect: [{ sql: T, rows: [task("buy milk"), task("finish the report")] }], reply: /^Your open tasks/ },
  { text: "Hi there! I'm Maria. Please remember that I'm lactose intolerant", expect: [{ sql: P, rows: [{ name: "Maria", timezone: null }] }, { sql: F, rows: [{ fact: "I'm lactose intolerant" }] }] },
  { text: "Morning! had oatmeal for breakfast and spent 3,50 € on coffee", expect: [{ sql: M, rows: [meal("oatmeal", "breakfast")] }, { sql: E, rows: [exp(350, "EUR", "food", "coffee")] }] },
  { text: "good morning! what's on my schedule today?", seed: [["add_event", { title: "standup", start: "2026-11-18T10:00" }]], expect: [count("schedule_events", 1)], reply: /^Your schedule today:\nWed 18 Nov 10:00-11:00 standup$/ },
  { text: "hello! add task buy stamps, and done 1", seed: TASKS, expect: [{ sql: T, rows: [task("buy milk", "done"), task("finish the report"), task("buy stamps")] }] },
  { text: "I'm Sam. I live in Berlin and I work at Bosch", expect: [{ sql: P, rows: [{ name: "Sam", timezone: null }] }, { sql: F, rows: [{ fact: "I live in Berlin" }, { fact: "I work at Bosch" }] }] },
  { text: "paid 8,90 € for lunch, add task call the landlord and remind me to pay rent on friday at 9am", expect: [{ sql: E, rows: [exp(890, "EUR", "food", "lunch")] }, { sql: T, rows: [task("call the landlord")] }, { sql: R, rows: [rem("pay rent", z("08:00", "20"))] }] },
  // Written after the recognisers, without looking at them: phrasings they were not tuned for.
  { text: "remind me to call grandma on sunday afternoon", expect: [{ sql: R, rows: [rem("call grandma", z("14:00", "22"))] }] },
  { text: "remind me to take out the trash every tuesday evening", expect: [{ sql: R, rows: [rem("take out the trash", z("18:00", "24"), "weekly")] }] },
  { text: "set an alarm for 6:30 tomorrow", expect: [{ sql: "SELECT due_at FROM reminders", rows: [{ due_at: z("05:30", "19") }] }] },
  { text: "what reminders do I have", seed: REMINDERS, expect: [count("reminders", 2)], reply: /call the dentist/ },
  { text: "remind me on friday to submit the timesheet", expect: [{ sql: R, rows: [rem("submit the timesheet", z("08:00", "20"))] }] },
  { text: "add eggs, milk and bread to the shopping list", expect: [{ sql: T, rows: [task("eggs, milk and bread")] }] },
  { text: "I still need to call the insurance company", expect: [{ sql: T, rows: [task("call the insurance company")] }] },
  { text: "the report is finished", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "open" }, { status: "done" }] }] },
  { text: "scratch buy milk", seed: TASKS, expect: [{ sql: T, rows: [task("finish the report")] }] },
  { text: "what's left on my list?", seed: TASKS, expect: [count("tasks", 2)], reply: /#1 buy milk/ },
  { text: "Hey, can you add 'call the vet' to my todo list?", expect: [{ sql: T, rows: [task("call the vet")] }] },
  { text: "spent 45.90 at the supermarket", expect: [{ sql: E, rows: [exp(4590, "USD", "groceries", "the supermarket")] }] },
  { text: "dinner with friends cost 60€", expect: [{ sql: E, rows: [exp(6000, "EUR", "food", "dinner with friends")] }] },
  { text: "paid the electricity bill, 85 euros", expect: [{ sql: E, rows: [exp(8500, "EUR", "utilities", "the electricity bill")] }] },
  { text: "how much did I spend yesterday?", seed: SPENT, expect: [count("expenses", 2)], reply: /Nothing spent yesterday/ },
  { text: "£3.50 for a coffee this morning", expect: [{ sql: E, rows: [exp(350, "GBP", "food", "a coffee")] }] },
  { text: "made 50 bucks babysitting", expect: [{ sql: I, rows: [{ amount_minor: 5000, currency: "USD", source: "babysitting" }] }] },
  { text: "spent 25 on a gift for mom yesterday", expect: [{ sql: "SELECT amount_minor, description, spent_at FROM expenses", rows: [{ amount_minor: 2500, description: "a gift for mom", spent_at: z("11:00", "17") }] }] },
  { text: "add task pay the phone bill and log 30 € for the phone bill", expect: [{ sql: T, rows: [task("pay the phone bill")] }, { sql: E, rows: [exp(3000, "EUR", "utilities", "the phone bill")] }] },
  { text: "what's on wednesday?", seed: [["add_event", { title: "standup", start: "2026-11-18T10:00" }]], expect: [count("schedule_events", 1)], reply: /Wednesday 18 Nov:\nWed 18 Nov 10:00-11:00 standup/ },
  { text: "what have I got tomorrow?", seed: [["add_event", { title: "gym", start: "2026-11-19T18:00" }]], expect: [count("schedule_events", 1)], reply: /gym/ },
  { text: "doctor appointment on tuesday at 10:30", expect: [{ sql: S, rows: [ev("doctor appointment", z("09:30", "24"), z("10:30", "24"))] }] },
  { text: "Meet Sarah for drinks friday 7pm", expect: [{ sql: S, rows: [ev("Meet Sarah for drinks", z("18:00", "20"), z("19:00", "20"))] }] },
  { text: "i'm having lunch with my boss tomorrow at 1pm", expect: [{ sql: S, rows: [ev("lunch with my boss", z("12:00", "19"), z("13:00", "19"))] }] },
  { text: "had a big breakfast: eggs, bacon and toast", expect: [{ sql: M, rows: [meal("eggs, bacon and toast", "breakfast")] }] },
  { text: "just had a protein shake, 250 kcal", expect: [{ sql: M, rows: [meal("a protein shake", "breakfast", 250)] }] },
  { text: "what did I eat today?", seed: MEALS, expect: [count("meals", 2)], reply: /2 meals logged today/ },
  { text: "I'm vegan", expect: [{ sql: F, rows: [{ fact: "I'm vegan" }] }] },
  { text: "my brother Tom lives in London", expect: [{ sql: F, rows: [{ fact: "my brother Tom lives in London" }] }] },
  { text: "do you know my wife's name?", seed: [["remember", { fact: "My wife is called Maria" }]], expect: [count("memory_facts", 1)], reply: /Maria/ },
  { text: "my boss's email is k.lee@corp.com", expect: [{ sql: C, rows: [{ name: "boss", phone: null, email: "k.lee@corp.com", relationship: "boss" }] }] },
  { text: "Lea's new number is 0176 99887766", expect: [{ sql: C, rows: [{ name: "Lea", phone: "0176 99887766", email: null, relationship: null }] }] },
  { text: "hello there", expect: [count("tasks", 0)], reply: /^Hi!/ },
  { text: "thank you so much!", expect: [count("tasks", 0)], reply: /welcome/ },
  { text: "what's your name?", expect: [count("tasks", 0)], reply: /assistant/ },
  // A second blind batch.
  { text: "Remind me to text Jenny happy birthday on the 30th at 9am", expect: [{ sql: R, rows: [rem("text Jenny happy birthday", z("08:00", "30"))] }] },
  { text: "in an hour remind me to move the car", expect: [{ sql: R, rows: [rem("move the car", z("09:00"))] }] },
  { text: "remind me to drink water every 2 hours", expect: [{ sql: R, rows: [] }] },
  { text: "please add pick up dry cleaning to my to do list", expect: [{ sql: T, rows: [task("pick up dry cleaning")] }] },
  { text: "I've done the laundry", seed: [["add_task", { title: "do the laundry" }]], expect: [{ sql: "SELECT status FROM tasks", rows: [{ status: "done" }] }] },
  { text: "mark the first task as complete", seed: TASKS, expect: [{ sql: "SELECT status FROM tasks ORDER BY id", rows: [{ status: "done" }, { status: "open" }] }] },
  { text: "I spent 15€ on a pizza last night", expect: [{ sql: E, rows: [exp(1500, "EUR", "food", "a pizza")] }] },
  { text: "Gas station: $42.10", expect: [{ sql: E, rows: [exp(4210, "USD", "transport", "Gas station")] }] },
  { text: "paid 1,200 for rent", expect: [{ sql: E, rows: [exp(120000, "USD", "housing", "rent")] }] },
  { text: "what have I spent this month?", seed: SPENT, expect: [count("expenses", 2)], reply: /You spent \$52\.50 this month/ },
  { text: "pilates on thursday from 6pm to 7pm", expect: [{ sql: S, rows: [ev("pilates", z("17:00", "19"), z("18:00", "19"))] }] },
  { text: "Parents evening at school friday 18:00-19:30", expect: [{ sql: S, rows: [ev("Parents evening at school", z("17:00", "20"), z("18:30", "20"))] }] },
  { text: "do I have anything tomorrow?", seed: [["add_event", { title: "gym", start: "2026-11-19T18:00" }]], expect: [count("schedule_events", 1)], reply: /gym/ },
  { text: "what's my schedule like on sunday", expect: [{ sql: S, rows: [] }], reply: /^Nothing on your schedule on Sunday 22 Nov\.$/ },
  { text: "for lunch I had a tuna sandwich, roughly 450 kcal", expect: [{ sql: M, rows: [meal("a tuna sandwich", "lunch", 450)] }] },
  { text: "2 eggs and toast for breakfast", expect: [{ sql: M, rows: [meal("2 eggs and toast", "breakfast")] }] },
  { text: "my daughter Emma is allergic to nuts", expect: [{ sql: F, rows: [{ fact: "my daughter Emma is allergic to nuts" }] }] },
  { text: "remember that my car is a blue Golf", expect: [{ sql: F, rows: [{ fact: "my car is a blue Golf" }] }] },
  { text: "what do you know about Emma?", seed: [["remember", { fact: "my daughter Emma is allergic to nuts" }]], expect: [count("memory_facts", 1)], reply: /allergic to nuts/ },
  { text: "add Dr. Patel as my doctor, 020 7946 0958", expect: [{ sql: C, rows: [{ name: "Dr. Patel", phone: "020 7946 0958", email: null, relationship: "doctor" }] }] },
  { text: "cheers!", expect: [count("tasks", 0)], reply: /welcome/ },
  { text: "what time is it?", expect: [count("tasks", 0)], reply: /^It's Wednesday 18 November, 09:00 \(Europe\/Berlin\)\.$/ },
  { text: "show my contacts", seed: PEOPLE, expect: [count("contacts", 3)], reply: /^Your contacts:\nBob Smith: bob@example\.com\nDr Weber \(dentist\): 030 1234567\nLea: \+49 176 1234567$/ },
  { text: "remind me tomorrow", expect: [{ sql: R, rows: [rem("Reminder", z("08:00", "19"))] }], reply: /^OK, I'll remind you on Thu 19 Nov 09:00\.$/ },
  { text: "what's my name?", seed: [["update_profile", { name: "Sam" }]], expect: [{ sql: P, rows: [{ name: "Sam", timezone: null }] }], reply: /^You're Sam\.$/ },
];
