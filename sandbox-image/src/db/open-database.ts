import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { MIGRATIONS, type Migration } from "./migrations";

export type Db = BetterSqlite3.Database;

/**
 * Opens (creating if needed) the agent's database: WAL so the read-only query connection never
 * blocks the writer, foreign keys on, and every pending migration applied.
 */
export function openDatabase(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  mkdirSync(dirname(file), { recursive: true });
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  // A second connection (the read-only SQL tool) may briefly hold a read lock; wait, do not fail.
  db.pragma("busy_timeout = 5000");
  migrate(db, migrations);
  return db;
}

/** Separate read-only connection for the SQL tool: even a clever statement cannot write. */
export function openReadonly(file: string): Db {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return db;
}

export function migrate(db: Db, migrations: readonly Migration[]): number {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number | null };
  const current = row.v ?? 0;
  const record = db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)");
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
  }
  return (db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number }).v;
}

/** User tables, for data.export and the SCHEMA.md check. */
export function listTables(db: Db): string[] {
  const rows = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { name: string }[];
  return rows.map((r) => r.name);
}
