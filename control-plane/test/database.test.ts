import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { Client } from "pg";
import { MIGRATIONS_DIR, isDatabaseReady, openDatabase, rows } from "../src/db/database";
import { users } from "../src/db/schema";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";

describeEachDriver("control-plane database", (driver) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(driver);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it("is ready once migrated", async () => {
    expect(await isDatabaseReady(t.database)).toBe(true);
  });

  it("keeps one user per phone number", async () => {
    const [u] = await t.database.db.insert(users).values({ phone: "4915112345678", name: "Ada" }).returning();
    expect(u?.id).toMatch(/[0-9a-f-]{36}/);
    await expect(t.database.db.insert(users).values({ phone: "4915112345678" })).rejects.toThrow();
    const found = await t.database.db.select().from(users).where(eq(users.phone, "4915112345678"));
    expect(found.map((r) => r.name)).toEqual(["Ada"]);
  });

  it("runs raw statements with the same row shape on both drivers", async () => {
    const r = await rows<{ n: number }>(t.database.db, sql`SELECT 41 + 1 AS n`);
    expect(r).toEqual([{ n: 42 }]);
  });

  it("runs a named hot-path statement like any other, with its rows, in and out of a transaction", async () => {
    const q = (id: string) => sql`SELECT ${id}::text AS id, now() AS at, 2 AS n`;
    const plain = await rows<{ id: string; at: string; n: number }>(t.database.db, q("a"));
    const named = await rows<{ id: string; at: string; n: number }>(t.database.db, q("b"), "test.hot");
    expect(Object.keys(named[0]!)).toEqual(Object.keys(plain[0]!));
    expect(typeof named[0]!.at).toBe(typeof plain[0]!.at); // timestamps as drizzle maps them, on both paths
    expect(named[0]).toMatchObject({ id: "b", n: 2 });
    await t.database.db.transaction(async (tx) => {
      await tx.insert(users).values({ phone: "200" });
      // The transaction's own connection: it sees the uncommitted row.
      const [r] = await rows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM users WHERE phone = ${"200"}`, "test.count");
      expect(r!.n).toBe(1);
      if (driver === "postgres") {
        // Parsed once on this connection and kept under its name (the name carries the text's hash).
        await rows(tx, sql`SELECT count(*)::int AS n FROM users WHERE phone = ${"201"}`, "test.count");
        const [p] = await rows<{ name: string }>(tx, sql`SELECT name FROM pg_prepared_statements WHERE name LIKE 'test.count.%'`);
        expect(p!.name).toMatch(/^test\.count\.[0-9a-f]{12}$/);
      }
    });
    // Another text under the same prefix is another statement, not a clash.
    expect(await rows(t.database.db, sql`SELECT ${"x"}::text AS other`, "test.count")).toEqual([{ other: "x" }]);
  });

  it("commits or rolls back a transaction as one", async () => {
    await expect(
      t.database.db.transaction(async (tx) => {
        await tx.insert(users).values({ phone: "100" });
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await t.database.db.select().from(users).where(eq(users.phone, "100"))).toEqual([]);
  });

  it("delivers NOTIFY to a listener", async () => {
    const got: string[] = [];
    const unlisten = await t.database.listen("test_channel", (p) => got.push(p));
    await t.database.db.execute(sql`SELECT pg_notify('test_channel', 'ping')`);
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await unlisten();
    expect(got).toEqual(["ping"]);
  });
});

// Replicas start together (the Kubernetes base runs two) and each migrates at start-up.
(process.env.DATABASE_URL ? describe : describe.skip)("migrations on PostgreSQL", () => {
  it("applies once when several processes migrate one new database at the same moment", async () => {
    const base = process.env.DATABASE_URL!;
    const name = `concierge_test_${randomBytes(6).toString("hex")}`;
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(base);
    u.pathname = `/${name}`;
    const opened = await Promise.all([1, 2, 3].map(() => openDatabase({ databaseUrl: u.toString(), dataDir: ":memory:", poolSize: 2 })));
    try {
      const outcomes = await Promise.allSettled(opened.map((d) => d.migrate()));
      expect(outcomes.map((o) => (o.status === "rejected" ? String(o.reason) : "ok"))).toEqual(["ok", "ok", "ok"]);
      const { readMigrationFiles } = await import("drizzle-orm/migrator");
      const [row] = await rows<{ n: number }>(opened[0]!.db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
      expect(row!.n).toBe(readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR }).length);
      for (const d of opened) expect(await isDatabaseReady(d)).toBe(true);
    } finally {
      await Promise.all(opened.map((d) => d.close().catch(() => undefined)));
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
