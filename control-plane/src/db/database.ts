import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { sql, type SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "./schema";
import type { Logger } from "../logger";
import { listenWithReconnect } from "./listen";

export type Schema = typeof schema;
/** Either driver's database: node-postgres and PGlite share drizzle's PgDatabase surface. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle, usable wherever a Db is. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type Executor = Db | Tx;

export type DriverName = "postgres" | "pglite";

export interface Database {
  db: Db;
  driver: DriverName;
  /** Where it lives, with any password removed: safe to log. */
  description: string;
  /** LISTEN on a channel; returns an unlisten function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Brings the schema up to date: applies the migrations on disk not applied yet (on PostgreSQL one process at a time, MIGRATION_LOCK). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The session advisory lock every process holds while it migrates (an arbitrary constant, the same
 * in every version). Replicas start together and each migrates at start-up: without it, two of
 * them creating drizzle's bookkeeping table (or applying the same migration) at once made one fail
 * with a duplicate key in pg_type and exit.
 */
const MIGRATION_LOCK = 7_243_511_002;

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../../migrations");

/**
 * The rows of a raw statement, whichever driver ran it.
 *
 * `prepareAs` names a statement of the hot path (a webhook, a claim, a completion): on PostgreSQL it
 * then runs as a named prepared statement, so each connection parses and plans it once instead of
 * on every call. Planning dominated: with unnamed statements PostgreSQL spent ~70% of its CPU per
 * turn in parse and bind (`log_statement_stats`, route bench). Only for statements whose text has
 * a bounded number of shapes (the name carries a hash of the text, so each shape is its own
 * statement): a connection keeps every statement it prepared until it closes.
 */
export async function rows<T = Record<string, unknown>>(db: Executor, query: SQL, prepareAs?: string): Promise<T[]> {
  if (!prepareAs) {
    const result = (await db.execute(query)) as unknown as { rows: T[] };
    return result.rows;
  }
  const d = db as unknown as DrizzleInternals;
  const built = d.dialect.sqlToQuery(query);
  const result = (await d.session.prepareQuery(built, undefined, statementName(prepareAs, built.sql), false).execute()) as { rows: T[] };
  return result.rows;
}

/** What `rows(..., prepareAs)` uses of drizzle's database and transaction objects (both have them). */
interface DrizzleInternals {
  dialect: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
  session: { prepareQuery(query: { sql: string; params: unknown[] }, fields: undefined, name: string, arrayMode: boolean): { execute(): Promise<unknown> } };
}

const statementNames = new Map<string, string>();
function statementName(prefix: string, text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `${prefix}.${createHash("sha1").update(text).digest("hex").slice(0, 12)}`;
    if (statementNames.size < 500) statementNames.set(text, name);
  }
  return name;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

/** PostgreSQL when a URL is given, else embedded PGlite in `dataDir/pglite` (or in memory for ":memory:"). */
export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; poolSize?: number; logger?: Logger }): Promise<Database> {
  if (opts.databaseUrl) {
    const { Pool, Client } = await import("pg");
    const { drizzle } = await import("drizzle-orm/node-postgres");
    const pool = new Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
    pool.on("error", () => undefined);
    const db = drizzle(pool, { schema }) as unknown as Db;
    const listeners = new Set<() => Promise<void>>();
    return {
      db,
      driver: "postgres",
      description: redactUrl(opts.databaseUrl),
      listen: (channel, onNotify) => listenWithReconnect(() => new Client({ connectionString: opts.databaseUrl }), channel, onNotify, opts.logger, listeners),
      async migrate() {
        const { migrate } = await import("drizzle-orm/node-postgres/migrator");
        // Its own session, not a pooled connection: a pool of one could then not run the migration.
        // The lock goes with the session, so a process that dies while migrating releases it.
        const lock = new Client({ connectionString: opts.databaseUrl });
        await lock.connect();
        try {
          const { rows: [got] } = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1) AS ok", [MIGRATION_LOCK]);
          if (!got?.ok) {
            opts.logger?.info("another process is migrating the database; waiting for it");
            await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
          }
          await migrate(db as never, { migrationsFolder: MIGRATIONS_DIR });
        } finally {
          await lock.end().catch(() => undefined);
        }
      },
      async close() {
        await Promise.all([...listeners].map((l) => l()));
        await pool.end();
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  let dir: string | undefined;
  if (opts.dataDir !== ":memory:") {
    dir = path.resolve(opts.dataDir, "pglite");
    mkdirSync(dir, { recursive: true });
  }
  const client = dir ? new PGlite(dir) : new PGlite();
  await client.waitReady;
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    driver: "pglite",
    description: dir ? `pglite:${dir}` : "pglite:memory",
    async listen(channel, onNotify) {
      const unsub = await client.listen(channel, onNotify);
      return async () => unsub();
    },
    async migrate() {
      // One process owns a PGlite directory, so nobody migrates beside it.
      const { migrate } = await import("drizzle-orm/pglite/migrator");
      await migrate(db as never, { migrationsFolder: MIGRATIONS_DIR });
    },
    async close() {
      await client.close();
    },
  };
}

/** True when the database answers and every migration on disk has been applied. */
export async function isDatabaseReady(database: Database): Promise<boolean> {
  try {
    const { readMigrationFiles } = await import("drizzle-orm/migrator");
    const expected = readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR }).length;
    const [row] = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
    return (row?.n ?? 0) >= expected;
  } catch {
    return false;
  }
}
