import { eq } from "drizzle-orm";
import { ManualClock } from "../control-plane/src/clock";
import { sandboxes, users } from "../control-plane/src/db/schema";
import { hashToken } from "../control-plane/src/sandboxes/token";
import { ConnectionManager } from "../control-plane/src/connections/connection-manager";
import type { SandboxRuntime } from "../control-plane/src/sandboxes/runtime";
import {
  createSandboxHarness,
  killSandbox,
  readOnVolume,
  writeOnVolume,
  type RuntimeName,
  type SandboxHarness,
} from "./sandbox-harness";
import { TEST_RUN_ID } from "./docker";
import { waitFor } from "./wait-for";

/**
 * The SandboxService behaviours every runtime must have, run once per runtime
 * (sandbox-service-process.test.ts, sandbox-service-docker.test.ts, sandbox-service-kubernetes.test.ts).
 */
export function sandboxServiceSuite(kind: RuntimeName): void {
  let h: SandboxHarness;
  const rowOf = async (userId: string) => (await h.testDb.database.db.select().from(sandboxes).where(eq(sandboxes.userId, userId)))[0];
  const sandboxesOf = async (userId: string) => (await h.runtime.list()).filter((i) => i.userId === userId);

  beforeAll(async () => {
    h = await createSandboxHarness({ kind });
  }, 120_000);
  afterAll(async () => {
    await h?.cleanup();
  }, 120_000);

  it("provisions a sandbox on first ensure: running, handshake-ready, token stored only as its hash", async () => {
    const userId = await h.createUser();
    const target = await h.service.ensure(userId);
    expect(target.userId).toBe(userId);
    // The agent accepted our signed handshake with the sandbox's own token.
    await h.connections.connect(target, { timeoutMs: 5000 });
    const row = await rowOf(userId);
    expect(row).toMatchObject({ state: "running", endpoint: target.endpoint, crashCount: 0, error: null });
    expect(row!.tokenHash).toBe(hashToken(target.token));
    expect(JSON.stringify(row)).not.toContain(target.token);
    const [inst] = await sandboxesOf(userId);
    expect(inst).toMatchObject({ running: true, sandboxId: row!.id, configHash: row!.configHash });
    // And /metrics says so: one successful create, and the reconciler's count by state.
    await h.reconciler.runOnce();
    const text = await h.metrics.metrics();
    expect(text).toMatch(/concierge_sandbox_ensure_seconds_count\{outcome="ok",path="create"\} [1-9]/);
    expect(text).toMatch(/concierge_sandboxes\{state="running"\} [1-9]/);
  });

  it("50 concurrent ensure() calls for one user make exactly one sandbox, and every caller gets it", async () => {
    const userId = await h.createUser();
    const targets = await Promise.all(Array.from({ length: 50 }, () => h.service.ensure(userId)));
    expect(new Set(targets.map((t) => `${t.sandboxId} ${t.endpoint}`)).size).toBe(1);
    expect(await sandboxesOf(userId)).toHaveLength(1);
  });

  it("two replicas ensuring the same user at once still make exactly one sandbox", async () => {
    const userId = await h.createUser();
    const other = h.replica();
    const targets = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : h.service).ensure(userId)));
    expect(new Set(targets.map((t) => t.sandboxId)).size).toBe(1);
    expect(await sandboxesOf(userId)).toHaveLength(1);
    expect((await h.testDb.database.db.select().from(sandboxes).where(eq(sandboxes.userId, userId))).length).toBe(1);
  });

  it("a replica that read the row before another one created the sandbox uses that sandbox's token, and leaves it running", async () => {
    // The interleaving CI once hit by chance, forced: B reads the row (token generation 0), then A
    // rotates the token, creates and starts the sandbox and completes its handshake, and only then
    // does B look at the runtime. B must hand out the token A's sandbox holds, not the one it read.
    const userId = await h.createUser();
    const steps: Record<"a" | "b", string[]> = { a: [], b: [] };
    let bRead!: () => void;
    let aReady!: () => void;
    const bHasRead = new Promise<void>((r) => (bRead = r));
    const aIsReady = new Promise<void>((r) => (aReady = r));
    const a = h.replica({
      hooks: {
        onStep: async (step) => {
          steps.a.push(step);
          if (step === "row") await bHasRead;
          if (step === "ready") aReady();
        },
      },
    });
    const b = h.replica({
      hooks: {
        onStep: async (step) => {
          steps.b.push(step);
          if (step === "row") {
            bRead();
            await aIsReady;
          }
        },
      },
    });
    const [ta, tb] = await Promise.all([a.ensure(userId), b.ensure(userId)]);
    expect(tb).toEqual(ta);
    // B's first attempt succeeded: it neither stopped A's sandbox nor started one of its own.
    expect(steps.b).toEqual(["row", "ready"]);
    expect(await sandboxesOf(userId)).toEqual([expect.objectContaining({ running: true })]);
    expect((await rowOf(userId))!.tokenHash).toBe(hashToken(ta.token));
  });

  it("a replica that found the sandbox running while another one re-keyed it leaves the new sandbox running, and uses its token", async () => {
    // The fast path's side of that race, forced: B reads the row (running, generation N); before B
    // looks at the runtime, A finds the sandbox gone, rotates the token and creates a new one. B then
    // dials a running sandbox that refuses B's token. That sandbox is A's and answers A: B must not
    // stop it, but read the row again and use the new token. B has its own connections, as a
    // replica does.
    const userId = await h.createUser();
    await h.service.ensure(userId);
    const generationBefore = (await rowOf(userId))!.tokenGeneration;
    await h.runtime.remove({ userId, removeData: false });

    let bLooks!: () => void;
    let aIsDone!: () => void;
    const bIsLooking = new Promise<void>((r) => (bLooks = r));
    const aDone = new Promise<void>((r) => (aIsDone = r));
    let gated = false;
    const stoppedByB: string[] = [];
    const stepsOfB: string[] = [];
    const runtimeOfB = new Proxy(h.runtime, {
      get(target, prop) {
        if (prop === "inspect") {
          return async (o: Parameters<SandboxRuntime["inspect"]>[0]) => {
            if (!gated) {
              gated = true;
              bLooks();
              await aDone;
            }
            return target.inspect(o);
          };
        }
        if (prop === "stop") {
          return async (o: Parameters<SandboxRuntime["stop"]>[0]) => {
            stoppedByB.push(o.userId);
            return target.stop(o);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const connectionsOfB = new ConnectionManager({ signingPrivateKeyPem: h.credentials.privateKeyPem, logger: h.logger, connectTimeoutMs: 15_000 });
    const b = h.replica({
      runtime: runtimeOfB,
      waitReady: (target, o) => connectionsOfB.connect(target, o),
      disconnect: (sandboxId) => connectionsOfB.close(sandboxId),
      hooks: { onStep: (step) => void stepsOfB.push(step) },
    });
    try {
      const pending = b.ensure(userId);
      await bIsLooking;
      const ta = await h.service.ensure(userId);
      expect((await rowOf(userId))!.tokenGeneration).toBeGreaterThan(generationBefore);
      aIsDone();
      const tb = await pending;

      expect(tb).toEqual(ta);
      expect(stoppedByB).toEqual([]);
      // B's handshake with the old token failed; its next look found A's sandbox and started nothing.
      expect(stepsOfB).toEqual(["row", "ready"]);
      expect(await sandboxesOf(userId)).toEqual([expect.objectContaining({ running: true, endpoint: ta.endpoint })]);
      // And A's own connection to it still works.
      await expect(h.connections.request(ta, "status", {})).resolves.toBeDefined();
    } finally {
      aIsDone();
      await connectionsOfB.closeAll();
    }
  });

  it("a sandbox killed behind our back answers the next ensure, with the data on its volume intact", async () => {
    const userId = await h.createUser();
    await h.service.ensure(userId);
    writeOnVolume(h, userId, "marker.txt", "still here");
    killSandbox(h, userId);
    // A kubelet reports a dead container a moment later (Docker's kill returns once it is dead):
    // the next ensure comes after the cluster has seen it, as it would for a real user's message.
    if (h.kind === "kubernetes") await waitFor(async () => !(await h.runtime.inspect({ userId }))?.running, 20_000, "the cluster to see the sandbox dead", 100);
    const target = await h.service.ensure(userId);
    await h.connections.connect(target, { timeoutMs: 5000 });
    expect(readOnVolume(h, userId, "marker.txt")).toBe("still here");
    expect(await sandboxesOf(userId)).toHaveLength(1);
  });

  it("the reconciler restarts a crashed sandbox, and puts one that keeps crashing in error with the reason", async () => {
    const userId = await h.createUser();
    await h.service.ensure(userId);
    killSandbox(h, userId);
    await waitFor(async () => !(await h.runtime.inspect({ userId }))?.running || (await h.runtime.inspect({ userId }))?.status === "restarting", 20_000, "the runtime to see the crash", 100);
    // Docker's own restart policy may bring it back first; either way it ends up running.
    let report = await h.reconciler.runOnce();
    report = await h.reconciler.runOnce();
    await waitFor(async () => (await h.runtime.inspect({ userId }))?.running === true, 20_000, "the sandbox to run again", 100);
    expect((await rowOf(userId))!.state).toBe("running");
    void report;

    // Keep killing it: after maxCrashes the reconciler gives up.
    for (let i = 0; i < 8 && (await rowOf(userId))!.state !== "error"; i++) {
      const inst = await h.runtime.inspect({ userId });
      if (inst?.running) killSandbox(h, userId);
      await waitFor(async () => (await h.runtime.inspect({ userId }))?.running !== true, 20_000, "the runtime to see the crash", 100);
      await h.reconciler.runOnce();
      await h.reconciler.runOnce();
    }
    const row = await rowOf(userId);
    expect(row!.state).toBe("error");
    expect(row!.error).toMatch(/crashed \d+ times/);
  }, 120_000);

  it("stops an idle sandbox and wakes it on the next ensure, keeping its data", async () => {
    const clock = new ManualClock(new Date());
    const idle = await createSandboxHarness({ kind, clock, idleMinutes: 15, testDb: h.testDb, dataDir: h.dataDir, network: h.network, cluster: h.cluster });
    const userId = await h.createUser();
    await idle.service.ensure(userId);
    writeOnVolume(h, userId, "notes.txt", "before sleep");

    // Other tests' sandboxes share this database and are idle too; only this user's fate is checked.
    clock.advance(10 * 60_000);
    expect(await idle.culler.runOnce()).not.toContain(userId);
    await idle.service.touch(userId);
    clock.advance(14 * 60_000);
    expect(await idle.culler.runOnce()).not.toContain(userId); // touched 14 minutes ago: not idle yet
    clock.advance(2 * 60_000);
    expect(await idle.culler.runOnce()).toContain(userId);
    expect((await rowOf(userId))!.state).toBe("stopped");
    expect((await idle.runtime.inspect({ userId }))!.running).toBe(false);

    const target = await idle.service.ensure(userId);
    await idle.connections.connect(target, { timeoutMs: 5000 });
    expect((await rowOf(userId))!.state).toBe("running");
    expect(readOnVolume(h, userId, "notes.txt")).toBe("before sleep");
    await idle.connections.closeAll();
  });

  it("drift: a sandbox removed behind our back is marked stopped and recreated on the next ensure, volume kept", async () => {
    const userId = await h.createUser();
    await h.service.ensure(userId);
    writeOnVolume(h, userId, "keep.txt", "kept");
    await h.runtime.remove({ userId, removeData: false });
    const report = await h.reconciler.runOnce();
    expect(report.markedStopped).toContain(userId);
    expect((await rowOf(userId))!.state).toBe("stopped");
    await h.service.ensure(userId);
    expect(readOnVolume(h, userId, "keep.txt")).toBe("kept");
  });

  it("removes a sandbox that no row owns, but never its data", async () => {
    const userId = await h.createUser();
    await h.service.ensure(userId);
    writeOnVolume(h, userId, "orphan.txt", "data outlives a stray row");
    await h.testDb.database.db.delete(sandboxes).where(eq(sandboxes.userId, userId));
    const report = await h.reconciler.runOnce();
    expect(report.removedOrphans).toContain(userId);
    expect(await sandboxesOf(userId)).toHaveLength(0);
    // The reconciler never deletes data: a new sandbox for the user finds it.
    await h.service.ensure(userId);
    expect(readOnVolume(h, userId, "orphan.txt")).toBe("data outlives a stray row");
  });

  it("the reconciler adopts a running sandbox whose row a dead control plane left in provisioning", async () => {
    const userId = await h.createUser();
    const target = await h.service.ensure(userId);
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await h.testDb.database.db.update(sandboxes).set({ state: "provisioning", endpoint: null, updatedAt: longAgo }).where(eq(sandboxes.userId, userId));
    const report = await h.reconciler.runOnce();
    expect(report.adopted).toContain(userId);
    expect(await rowOf(userId)).toMatchObject({ state: "running", endpoint: target.endpoint });
  });

  it("delete removes the sandbox, its data, its token and the user's rows", async () => {
    const userId = await h.createUser({ phone: `49${Date.now() % 1e9}` });
    await h.service.ensure(userId);
    writeOnVolume(h, userId, "secret.txt", "personal");
    await h.service.delete(userId);
    expect(await sandboxesOf(userId)).toHaveLength(0);
    expect(await rowOf(userId)).toBeUndefined();
    expect(await h.testDb.database.db.select().from(users).where(eq(users.id, userId))).toHaveLength(0);
    // Deleting again is success (already gone); a new sandbox for the same id would start empty.
    await h.runtime.remove({ userId, removeData: true });
  });

  it("a stopped sandbox whose config changed is recreated on its next wake, keeping its volume", async () => {
    const userId = await h.createUser();
    const first = await h.service.ensure(userId);
    writeOnVolume(h, userId, "upgrade.txt", "survives upgrades");
    const before = (await h.runtime.inspect({ userId }))!;
    await h.service.stop(userId);
    // The upgrade: a new image (docker) or new limits (process), as a restarted control plane would see it.
    const upgraded = kind === "docker" ? h.replica({ settings: { ...settingsOf(h), image: upgradeImage() } }) : h.replica({ settings: { ...settingsOf(h), limits: { memoryMb: 300, cpus: 0.5, pids: 128 } } });
    const second = await upgraded.ensure(userId);
    const after = (await h.runtime.inspect({ userId }))!;
    expect(after.configHash).not.toBe(before.configHash);
    if (kind === "docker") {
      expect(after.id).not.toBe(before.id);
      expect(after.image).toBe(upgradeImage());
    }
    expect(second.sandboxId).toBe(first.sandboxId);
    expect(readOnVolume(h, userId, "upgrade.txt")).toBe("survives upgrades");
    expect((await rowOf(userId))!.configHash).toBe(after.configHash);
  });
}

/** A second tag of the agent image: what `docker build` after an upgrade leaves behind. */
export function upgradeImage(): string {
  return `concierge-agent:test-upgrade-${TEST_RUN_ID}`;
}

function settingsOf(h: SandboxHarness) {
  return (h.service as unknown as { opts: { settings: import("../control-plane/src/sandboxes/sandbox-service").SandboxSettings } }).opts.settings;
}

