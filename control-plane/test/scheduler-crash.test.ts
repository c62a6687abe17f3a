import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { rows } from "../src/db/database";
import { ScheduleStore } from "../src/scheduler/schedule-store";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { ProactiveBrain } from "../../test-support/scheduler-agent-brain";
import { waitFor } from "../../test-support/wait-for";

const ROOT = path.resolve(__dirname, "../..");
const CHILD = path.join(ROOT, "test-support/scheduler-child.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A control plane in a child process, killable with SIGKILL at the step where it hurts. */
class Child {
  readonly proc: ChildProcess;
  private out = "";
  readonly exited: Promise<void>;
  constructor(env: Record<string, string>) {
    this.proc = spawn(process.execPath, ["--import", "tsx", CHILD], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout!.on("data", (d) => (this.out += d.toString()));
    this.proc.stderr!.on("data", (d) => (this.out += d.toString()));
    this.exited = new Promise((r) => this.proc.once("exit", () => r()));
  }
  async waitFor(line: string, timeoutMs = 20_000): Promise<void> {
    for (let waited = 0; !this.out.includes(line); waited += 25) {
      if (waited > timeoutMs || this.proc.exitCode !== null) throw new Error(`child never printed ${line}: ${this.out.slice(-2000)}`);
      await sleep(25);
    }
  }
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
    await this.exited;
  }
}

// Two processes need one database server: PGlite lives inside a single process.
const describePg = process.env.DATABASE_URL ? describe : describe.skip;

describePg("a control plane killed across a reminder's due time [postgres]", () => {
  let t: TestDatabase;
  let store: ScheduleStore;
  let brainDir: string;
  const children: Child[] = [];
  beforeAll(async () => {
    t = await createTestDatabase("postgres");
    store = new ScheduleStore({ database: t.database });
    brainDir = mkdtempSync(path.join(tmpdir(), "concierge-brains-"));
  });
  afterAll(async () => {
    for (const c of children) await c.kill();
    await t.cleanup();
    rmSync(brainDir, { recursive: true, force: true });
  });
  const start = (env: Record<string, string> = {}) => {
    const c = new Child({ DATABASE_URL: t.url!, BRAIN_DIR: brainDir, ...env });
    children.push(c);
    return c;
  };

  /** A user whose agent holds one reminder due `inMs` from the database's now, with alarm.set stored. */
  async function userWithReminder(text: string, inMs: number): Promise<{ userId: string; due: Date }> {
    const [u] = await rows<{ id: string }>(t.database.db, sql`INSERT INTO users (active_hours_start, active_hours_end) VALUES ('00:00', '24:00') RETURNING id`);
    // No heartbeats for these users until a test asks for one: the row exists, with nothing due.
    await t.database.db.execute(sql`INSERT INTO schedules (user_id, kind, next_run_at) VALUES (${u!.id}, 'heartbeat', NULL)`);
    await t.database.db.execute(sql`INSERT INTO sandboxes (user_id, state) VALUES (${u!.id}, 'running')`);
    const due = new Date((await store.now()).getTime() + inMs);
    const brain = new ProactiveBrain("UTC", path.join(brainDir, `${u!.id}.json`));
    const at = brain.addReminder(text, due);
    await store.setAlarm(u!.id, new Date(at!));
    return { userId: u!.id, due };
  }

  /** The user's outbox rows: what would go to WhatsApp. */
  async function sentTo(userId: string): Promise<{ body: string; proactive: boolean; sentAt: Date }[]> {
    const r = await rows<{ body: string; proactive: boolean; created_at: string | Date }>(
      t.database.db,
      sql`SELECT body, proactive, created_at FROM outbox WHERE user_id = ${userId} ORDER BY seq`,
    );
    return r.map((x) => ({ body: x.body, proactive: x.proactive, sentAt: new Date(x.created_at) }));
  }

  const waitForSends = (userId: string, n: number) =>
    waitFor(async () => { const sent = await sentTo(userId); return sent.length >= n && sent; }, 20_000, `${n} sends to ${userId}`, 50);

  it("fires late, once, when the process was dead at the due time", async () => {
    const first = start();
    await first.waitFor("ready");
    // Set once the process is up (its start-up time varies): due in 2 s, killed after 0.5 s.
    const { userId, due } = await userWithReminder("Pay the rent", 2000);
    await sleep(500);
    await first.kill();
    while ((await store.now()).getTime() < due.getTime() + 1000) await sleep(100);
    expect(await sentTo(userId)).toEqual([]);

    const second = start();
    const sent = await waitForSends(userId, 1);
    await sleep(1500); // time for a duplicate to show up, if there were one
    expect((await sentTo(userId)).map((s) => s.body)).toEqual(["Pay the rent"]);
    expect(sent[0]!.sentAt.getTime()).toBeGreaterThan(due.getTime());
    expect(sent[0]!.proactive).toBe(true);
    await second.kill();
  });

  /**
   * A reminder due at once, its first process held (by `delay`) at `step` of the firing and killed
   * there, then a second process started: what the user was sent once a duplicate had time to show.
   */
  async function killedWhileFiring(text: string, delay: Record<string, string>, step: string) {
    const { userId } = await userWithReminder(text, 300);
    const first = start(delay);
    await first.waitFor(`${step} ${userId}`);
    await first.kill();
    const second = start();
    await waitForSends(userId, 1);
    await sleep(1500);
    return { userId, second, bodies: (await sentTo(userId)).map((s) => s.body) };
  }

  it("sends once when killed while the agent was firing, before it answered", async () => {
    const { second, bodies } = await killedWhileFiring("Feed the cat", { FIRE_DELAY_BEFORE_MS: "3000" }, "fire:start");
    expect(bodies).toEqual(["Feed the cat"]);
    await second.kill();
  });

  it("sends once when killed after the agent answered but before the message was queued", async () => {
    const { userId, second, bodies } = await killedWhileFiring("Call mum", { FIRE_DELAY_AFTER_MS: "3000" }, "fire:answered");
    expect(bodies).toEqual(["Call mum"]);
    // The agent fired its reminder once; the retry got the stored answer for the same key.
    const brain = new ProactiveBrain("UTC", path.join(brainDir, `${userId}.json`));
    expect(brain.state.runs.alarm).toBe(1);
    await second.kill();
  });

  it("two control-plane processes on one database handle each alarm and each heartbeat once", async () => {
    const a = start();
    const b = start();
    await Promise.all([a.waitFor("ready"), b.waitFor("ready")]);
    const users: { userId: string; slot: Date }[] = [];
    for (let i = 0; i < 10; i++) {
      const { userId, due } = await userWithReminder(`Reminder ${i}`, 1500);
      await t.database.db.execute(sql`UPDATE schedules SET next_run_at = ${due.toISOString()}::timestamptz WHERE user_id = ${userId} AND kind = 'heartbeat'`);
      users.push({ userId, slot: due });
    }
    for (const u of users) await waitForSends(u.userId, 1);
    await sleep(2000);
    for (const u of users) {
      expect((await sentTo(u.userId)).filter((m) => m.body.startsWith("Reminder")).length).toBe(1);
      const events = await rows<{ kind: string; provider_id: string; status: string }>(
        t.database.db,
        sql`SELECT kind, provider_id, status FROM inbox_events WHERE user_id = ${u.userId}`,
      );
      const slotEvents = events.filter((e) => e.provider_id.endsWith(u.slot.toISOString()));
      expect(slotEvents.map((e) => [e.kind, e.status]).sort()).toEqual([
        ["alarm", "done"],
        ["heartbeat", "done"],
      ]);
      const brain = new ProactiveBrain("UTC", path.join(brainDir, `${u.userId}.json`));
      expect(brain.state.runs.alarm).toBe(events.filter((e) => e.kind === "alarm").length);
      expect(brain.state.runs.heartbeat).toBe(events.filter((e) => e.kind === "heartbeat").length);
    }
    // No heartbeat row was claimed twice (an alarm row may be claimed again by its recheck, deduped above).
    const claims = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM schedules WHERE claims > 1 AND kind = 'heartbeat'`);
    expect(claims[0]!.n).toBe(0);
    await a.kill();
    await b.kill();
  });
});
