import { spawn } from "node:child_process";
import path from "node:path";
import { describeDocker, TEST_RUN_ID } from "../../test-support/docker";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { createSandboxHarness, ensureAgentImage, TEST_AGENT_IMAGE, type RuntimeName, type SandboxHarness } from "../../test-support/sandbox-harness";
import { sandboxes } from "../src/db/schema";

/**
 * Kill the control plane (SIGKILL) at each step of provisioning, start it again: the reconciler
 * and the next ensure() leave exactly one healthy sandbox per user and no orphans. The killed
 * process is a real child process on a real PostgreSQL database (a killed PGlite file is not a
 * fair test of anything), so this needs DATABASE_URL.
 */
const STEPS = ["row", "created", "started", "ready"] as const;
const CHILD = path.resolve(__dirname, "../../test-support/sandbox-provision-child.ts");

function runChildUntil(env: Record<string, string>, step: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], { env: { ...process.env, ...env, STOP_AT: step }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child never reached ${step}: ${out}`));
    }, 60_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes(`AT ${step}`)) {
        child.kill("SIGKILL"); // the control plane dies right here
      } else if (/FAILED|DONE/.test(out)) {
        clearTimeout(timer);
        reject(new Error(`child ended before ${step}: ${out}`));
      }
    });
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL") resolve();
    });
  });
}

function suite(kind: RuntimeName): void {
  let testDb: TestDatabase;
  let h: SandboxHarness;
  beforeAll(async () => {
    if (kind === "docker") ensureAgentImage();
    testDb = await createTestDatabase("postgres");
    h = await createSandboxHarness({ kind, testDb });
  }, 600_000);
  afterAll(async () => {
    await h?.cleanup();
    await testDb?.cleanup();
  }, 120_000);

  it.each(STEPS)("killed at step %s: after a restart there is exactly one healthy sandbox and no orphan", async (step) => {
    const userId = await h.createUser();
    await runChildUntil(
      {
        CHILD_DATABASE_URL: testDb.url!,
        CHILD_RUNTIME: kind,
        CHILD_NETWORK: h.network,
        CHILD_TEST_RUN_ID: TEST_RUN_ID,
        CHILD_DATA_DIR: h.dataDir,
        CHILD_IMAGE: kind === "docker" ? TEST_AGENT_IMAGE : "process",
        CHILD_USER_ID: userId,
      },
      step,
    );
    // "Start it again": this process is the restarted control plane. Reconcile first, as main does.
    await h.reconciler.runOnce();
    const target = await h.service.ensure(userId);
    await h.connections.connect(target, { timeoutMs: 10_000 });
    const mine = (await h.runtime.list()).filter((i) => i.userId === userId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ running: true, sandboxId: target.sandboxId });
    // No orphans anywhere: every sandbox the runtime has belongs to a row.
    const rows = await testDb.database.db.select().from(sandboxes);
    const owned = new Set(rows.map((r) => r.id));
    await h.reconciler.runOnce();
    for (const inst of await h.runtime.list()) expect(owned.has(inst.sandboxId)).toBe(true);
  }, 120_000);
}

const needsPostgres = process.env.DATABASE_URL ? describe : describe.skip;
if (!process.env.DATABASE_URL) process.stdout.write("SKIPPED (needs DATABASE_URL): SIGKILL during provisioning\n");

needsPostgres("SIGKILL during provisioning, process runtime", () => suite("process"));
describeDocker("SIGKILL during provisioning, Docker runtime", () => {
  needsPostgres("on PostgreSQL", () => suite("docker"));
});
