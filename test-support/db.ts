import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { openDatabase, type Database, type DriverName } from "../control-plane/src/db/database";

/**
 * Real databases for tests: a fresh PostgreSQL database per call on the server DATABASE_URL names
 * (dropped by the returned cleanup), or an in-memory PGlite. Both are migrated.
 */
export interface TestDatabase {
  database: Database;
  /** The connection URL (postgres only): for a second control-plane process on the same data. */
  url?: string;
  cleanup(): Promise<void>;
}

export function testDrivers(): DriverName[] {
  return process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
}

export async function createTestDatabase(driver: DriverName = process.env.DATABASE_URL ? "postgres" : "pglite"): Promise<TestDatabase> {
  if (driver === "pglite") {
    const database = await openDatabase({ dataDir: ":memory:" });
    await database.migrate();
    return { database, cleanup: () => database.close() };
  }
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error("postgres test database needs DATABASE_URL");
  const name = `concierge_test_${randomBytes(6).toString("hex")}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = await openDatabase({ databaseUrl: url, dataDir: ":memory:" });
  await database.migrate();
  return {
    database,
    url,
    async cleanup() {
      await database.close().catch(() => undefined);
      const c = new Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * One migrated database for the enclosing describe block, created before its first test and
 * dropped after its last (after every afterEach, so per-test teardown may still use it). Its
 * fields are read inside hooks and tests, while it exists.
 */
export function useTestDatabase(driver?: DriverName): TestDatabase {
  let current: TestDatabase | undefined;
  const get = () => current ?? failOutsideTests();
  beforeAll(async () => {
    current = await createTestDatabase(driver);
  });
  afterAll(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return {
    get database() {
      return get().database;
    },
    get url() {
      return get().url;
    },
    cleanup: () => get().cleanup(),
  };
}

function failOutsideTests(): never {
  throw new Error("the test database exists only while the describe block's hooks and tests run");
}

/** Runs a describe block once per available driver: the same suite on PGlite and PostgreSQL. */
export function describeEachDriver(name: string, fn: (driver: DriverName) => void): void {
  for (const driver of testDrivers()) describe(`${name} [${driver}]`, () => fn(driver));
}
