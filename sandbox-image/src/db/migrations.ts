/**
 * The agent's schema, versioned in code. Each migration runs once, in order, inside a transaction,
 * and records its version in schema_version. Never edit a shipped migration: append a new one.
 * workspace-templates/SCHEMA.md describes the result for the assistant (a test keeps them in step).
 *
 * Conventions: times are UTC ISO-8601 strings (`2026-11-21T17:00:00.000Z`); money is an integer in
 * the currency's minor units plus an ISO 4217 code; booleans are 0/1.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial",
    sql: `
CREATE TABLE profile (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT,
  timezone TEXT,
  active_start TEXT,
  active_end TEXT,
  email TEXT,
  zoom_user_id TEXT,
  currency TEXT NOT NULL DEFAULT 'USD',
  updated_at TEXT NOT NULL
);

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  notes TEXT,
  owner TEXT,
  due_at TEXT,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
  source TEXT NOT NULL DEFAULT 'chat',
  created_at TEXT NOT NULL,
  completed_at TEXT
);
CREATE INDEX tasks_status ON tasks (status, due_at);

CREATE TABLE reminders (
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL,
  due_at TEXT NOT NULL,
  timezone TEXT NOT NULL,
  anchor_local TEXT NOT NULL,
  recurrence TEXT CHECK (recurrence IN ('daily', 'weekly', 'monthly')),
  urgent INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled')),
  fire_count INTEGER NOT NULL DEFAULT 0,
  last_fired_at TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX reminders_due ON reminders (status, due_at);

CREATE TABLE schedule_events (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  location TEXT,
  notes TEXT,
  created_at TEXT NOT NULL,
  CHECK (ends_at > starts_at)
);
CREATE INDEX schedule_events_start ON schedule_events (starts_at);

CREATE TABLE meals (
  id INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  meal_type TEXT NOT NULL CHECK (meal_type IN ('breakfast', 'lunch', 'dinner', 'snack')),
  calories INTEGER,
  protein_g REAL,
  carbs_g REAL,
  fat_g REAL,
  eaten_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX meals_eaten ON meals (eaten_at);

CREATE TABLE nutrition_goals (
  nutrient TEXT PRIMARY KEY CHECK (nutrient IN ('calories', 'protein_g', 'carbs_g', 'fat_g')),
  daily_target REAL NOT NULL CHECK (daily_target > 0),
  updated_at TEXT NOT NULL
);

CREATE TABLE expenses (
  id INTEGER PRIMARY KEY,
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT 'other',
  description TEXT,
  spent_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX expenses_spent ON expenses (spent_at);

CREATE TABLE income (
  id INTEGER PRIMARY KEY,
  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
  currency TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT 'other',
  description TEXT,
  received_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX income_received ON income (received_at);

CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  phone TEXT,
  email TEXT,
  relationship TEXT,
  notes TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX contacts_name ON contacts (name COLLATE NOCASE);

CREATE TABLE memory_facts (
  id INTEGER PRIMARY KEY,
  fact TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT 'general',
  created_at TEXT NOT NULL
);

CREATE TABLE conversation_messages (
  id INTEGER PRIMARY KEY,
  channel TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  content TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE conversation_summary (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  summary TEXT NOT NULL,
  covers_through_message_id INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  result_json TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE heartbeat_nudges (
  item TEXT NOT NULL,
  local_date TEXT NOT NULL,
  nudged_at TEXT NOT NULL,
  PRIMARY KEY (item, local_date)
);
`,
  },
];
