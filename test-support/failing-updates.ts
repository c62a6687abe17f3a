import { sql } from "drizzle-orm";
import type { Database } from "../control-plane/src/db/database";

/**
 * Makes the next `times` UPDATEs of `table` that set `status` to `status` fail the way PostgreSQL
 * fails a deadlock victim (SQLSTATE 40P01), through a trigger; later ones pass. For tests of what a
 * statement's failure does. A sequence counts: unlike a row, nextval is not rolled back with the
 * failed statement. Returns the cleanup, which drops the trigger and its parts.
 */
export async function failUpdatesTo(database: Database, table: "outbox" | "inbox_events", status: string, times: number): Promise<() => Promise<void>> {
  const name = `test_fail_${table}`;
  await database.db.execute(sql.raw(`CREATE SEQUENCE ${name}`));
  await database.db.execute(
    sql.raw(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('${name}') <= ${Number(times)} THEN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF;
        RETURN NEW;
      END $$`),
  );
  await database.db.execute(sql.raw(`CREATE TRIGGER ${name} BEFORE UPDATE ON ${table} FOR EACH ROW WHEN (NEW.status = '${status.replace(/'/g, "''")}') EXECUTE FUNCTION ${name}()`));
  return async () => {
    await database.db.execute(sql.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`));
    await database.db.execute(sql.raw(`DROP FUNCTION IF EXISTS ${name}()`));
    await database.db.execute(sql.raw(`DROP SEQUENCE IF EXISTS ${name}`));
  };
}
