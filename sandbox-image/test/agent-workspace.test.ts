import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { openDatabase, listTables } from "../src/db/open-database";
import { getProfile } from "../src/db/profile-store";
import { buildSystemPrompt } from "../src/workspace/system-prompt";
import { Workspace } from "../src/workspace/workspace";
import { key, startAgent, TEMPLATES, withTempDir, type Harness } from "./agent-harness";

/** SCHEMA.md's tables: "## `name`" headings followed by "| `column` | TYPE | ... |" rows. */
function documentedSchema(md: string): Map<string, { name: string; type: string }[]> {
  const tables = new Map<string, { name: string; type: string }[]>();
  let current: { name: string; type: string }[] | null = null;
  for (const line of md.split("\n")) {
    const t = line.match(/^## `([a-z_]+)`/);
    if (t) {
      current = [];
      tables.set(t[1]!, current);
      continue;
    }
    const c = line.match(/^\| `([a-z_]+)` \| ([A-Z]+) \|/);
    if (c && current) current.push({ name: c[1]!, type: c[2]! });
  }
  return tables;
}

describe("SCHEMA.md", () => {
  it("describes exactly the live database: every table and column, with its type", () =>
    withTempDir("agent-schema-", (dir) => {
      const db = openDatabase(join(dir, "agent.db"));
      const live = new Map(listTables(db).map((t) => [t, (db.pragma(`table_info("${t}")`) as { name: string; type: string }[]).map((c) => ({ name: c.name, type: c.type }))]));
      db.close();
      const documented = documentedSchema(readFileSync(join(TEMPLATES, "SCHEMA.md"), "utf8"));
      expect([...documented.keys()].sort()).toEqual([...live.keys()].sort());
      for (const [table, columns] of live) expect({ table, columns: documented.get(table) }).toEqual({ table, columns });
    }));
});

describe("database", () => {
  it("runs in WAL mode with foreign keys and records its schema version", () =>
    withTempDir("agent-db-", (dir) => {
      const db = openDatabase(join(dir, "agent.db"));
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
      db.close();
      // Reopening applies nothing twice.
      const again = openDatabase(join(dir, "agent.db"));
      expect(again.prepare("SELECT version, name FROM schema_version").all()).toEqual([{ version: 1, name: "initial" }]);
      again.close();
    }));
});

describe("workspace", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("copies the templates on first boot and never overwrites them after", async () => {
    h = await startAgent();
    const ws = join(h.dataDir, "workspace");
    for (const f of ["SOUL.md", "AGENTS.md", "HEARTBEAT.md", "SCHEMA.md", "USER.md", "MEMORY.md", "skills/expenses.md", "skills/meals.md", "skills/scheduling.md"]) {
      expect(existsSync(join(ws, f))).toBe(true);
    }
    await h.call("workspace.write", { path: "SOUL.md", content: "# My own soul\n" });
    rmSync(join(ws, "MEMORY.md"));
    await h.restart();
    expect((await h.call("workspace.read", { path: "SOUL.md" })).content).toBe("# My own soul\n");
    // A file the user deleted stays deleted: the templates are a first-boot gift, not a reset.
    await expect(h.call("workspace.read", { path: "MEMORY.md" })).rejects.toMatchObject({ code: "not_found" });
  });

  it("copies the templates on a later boot if they were missing on the first", () =>
    withTempDir("agent-late-", async (dataDir) => {
      try {
        const first = await startAgent({ dataDir, templatesDir: join(dataDir, "nowhere") });
        expect((await first.call("workspace.list", {})).files).toEqual([]);
        first.agent.close();
        h = await startAgent({ dataDir });
        expect((await h.call("workspace.read", { path: "SOUL.md" })).content).toContain("# Soul");
      } finally {
        h?.close();
      }
    }));

  it("reads, writes and lists files inside the workspace", async () => {
    h = await startAgent();
    expect(await h.call("workspace.write", { path: "notes/ideas.md", content: "héllo" })).toEqual({ path: "notes/ideas.md", bytes: 6 });
    expect(await h.call("workspace.read", { path: "./notes//ideas.md" })).toEqual({ path: "notes/ideas.md", content: "héllo" });
    const { files } = await h.call("workspace.list", {});
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(["SOUL.md", "notes/ideas.md", "skills/meals.md"]));
    expect(files.some((f) => f.path.startsWith("."))).toBe(false);
  });

  it("refuses traversal, absolute paths, hidden files and symlinks that lead out", async () => {
    h = await startAgent();
    await withTempDir("outside-", async (outside) => {
      writeFileSync(join(outside, "secret.txt"), "top secret");
      const ws = join(h.dataDir, "workspace");
      symlinkSync(join(outside, "secret.txt"), join(ws, "link.md"));
      symlinkSync(outside, join(ws, "escape"));
      for (const path of ["../agent.db", "notes/../../agent.db", "/etc/passwd", "C:\\Windows\\win.ini", "..\\agent.db", "link.md", "escape/secret.txt", ".initialized", "a\0b"]) {
        await expect(h.call("workspace.read", { path })).rejects.toMatchObject({ code: expect.stringMatching(/bad_request|not_found/) });
      }
      for (const path of ["../evil.md", "/tmp/evil.md", "escape/new.md", "link.md"]) {
        await expect(h.call("workspace.write", { path, content: "x" })).rejects.toMatchObject({ code: "bad_request" });
      }
      expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("top secret");
      expect(existsSync(join(outside, "new.md"))).toBe(false);
      const { files } = await h.call("workspace.list", {});
      expect(files.map((f) => f.path)).not.toContain("link.md");
    });
  });
});

describe("system prompt", () => {
  it("caps each file and the total, and always includes memory facts and the local time", () =>
    withTempDir("agent-prompt-", (dir) => {
      const ws = new Workspace(dir);
      ws.write("SOUL.md", "S".repeat(5000));
      ws.write("AGENTS.md", "A".repeat(5000));
      ws.write("USER.md", "U".repeat(5000));
      const db = new BetterSqlite3(":memory:");
      db.exec("CREATE TABLE profile (id INTEGER PRIMARY KEY, name TEXT, timezone TEXT, active_start TEXT, active_end TEXT, email TEXT, zoom_user_id TEXT, currency TEXT, updated_at TEXT)");
      const prompt = buildSystemPrompt({
        workspace: ws,
        profile: { ...getProfile(db), name: "Sam" },
        timezone: "Asia/Kolkata",
        now: new Date("2026-11-21T10:00:00Z"),
        facts: ["Allergic to peanuts"],
        style: "voice",
        caps: { perFile: 3000, total: 7000 },
      });
      expect(prompt.match(/S/g)!.length).toBeGreaterThanOrEqual(3000);
      expect(prompt).toContain("[... truncated to 3000 characters]");
      // What is left of the total after two capped files: USER.md gets only the remainder.
      const userRun = prompt.match(/U{10,}/)![0].length;
      expect(userRun).toBeLessThan(1000);
      expect(prompt.match(/S{10,}/)![0].length + prompt.match(/A{10,}/)![0].length + userRun).toBeLessThanOrEqual(7000);
      expect(prompt).toContain("- Allergic to peanuts");
      expect(prompt).toContain("Saturday 21 November 2026, 15:30 (Asia/Kolkata)");
      expect(prompt).toContain("The user's name: Sam.");
      expect(prompt).toContain("This is a phone call");
      db.close();
    }));
});

describe("data.export and status", () => {
  let h: Harness;
  afterEach(() => h.close());

  it("exports every table's rows and every workspace file", async () => {
    h = await startAgent({ userName: "Sam" });
    await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "add_task", arguments: JSON.stringify({ title: "export me" }) });
    await h.call("workspace.write", { path: "notes/a.md", content: "A" });
    const out = await h.call("data.export", {});
    expect(Object.keys(out.tables)).toEqual(expect.arrayContaining(["tasks", "reminders", "schedule_events", "meals", "expenses", "income", "contacts", "memory_facts", "conversation_messages", "idempotency_keys", "profile"]));
    expect(out.tables.tasks).toEqual([expect.objectContaining({ title: "export me" })]);
    expect(out.tables.profile).toEqual([expect.objectContaining({ name: "Sam" })]);
    expect(out.workspace["notes/a.md"]).toBe("A");
    expect(out.workspace["SOUL.md"]).toContain("# Soul");
  });

  it("reports version, clock-independent uptime, next alarm and timezone", async () => {
    h = await startAgent({ timezone: "Europe/Berlin", now: "2026-11-21T10:00:00Z" });
    await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "set_reminder", arguments: JSON.stringify({ text: "x", when: "2026-11-22T09:00" }) });
    const s = await h.call("status", {});
    expect(s).toMatchObject({ protocolVersion: 2, llmConfigured: false, nextAlarmAt: "2026-11-22T08:00:00.000Z", timezone: "Europe/Berlin" });
    expect(s.rssBytes).toBeGreaterThan(0);
  });
});

describe("a data directory nobody can traverse out of", () => {
  it("keeps the database outside the workspace", async () => {
    const h = await startAgent();
    try {
      mkdirSync(join(h.dataDir, "workspace", "sub"), { recursive: true });
      await expect(h.call("workspace.read", { path: "sub/../../agent.db" })).rejects.toMatchObject({ code: "bad_request" });
    } finally {
      h.close();
    }
  });
});
