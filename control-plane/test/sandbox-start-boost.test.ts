import Dockerode from "dockerode";
import { containerName } from "../src/sandboxes/container-spec";
import type { SandboxRuntime } from "../src/sandboxes/runtime";
import type { ProvisionStep, SandboxService } from "../src/sandboxes/sandbox-service";
import { Reconciler } from "../src/sandboxes/reconciler";
import { describeDocker } from "../../test-support/docker";
import { createSandboxHarness, ensureAgentImage, TEST_AGENT_IMAGE, type SandboxHarness } from "../../test-support/sandbox-harness";

/**
 * The startup CPU boost (SANDBOX_START_CPUS) on the real daemon with the real agent: a sandbox is
 * created, and woken, with the boost as its CPU limit, and runs at the configured limit (0.5 here)
 * once ensure() is done; a lowering that fails is retried, and what is left behind (a control plane
 * that died before lowering, retries used up) the reconciler lowers.
 */
describeDocker("startup CPU boost, Docker runtime", () => {
  const docker = new Dockerode();
  const LIMIT = 500_000_000;
  const BOOST = 1_000_000_000;
  let h: SandboxHarness;
  /** NanoCpus read back from the daemon at each provisioning step of the boosted service. */
  const seen = new Map<string, Partial<Record<ProvisionStep, number>>>();
  let boosted: SandboxService;
  const nanoCpus = async (userId: string) => (await docker.getContainer(containerName(userId)).inspect()).HostConfig.NanoCpus;
  const onStep = async (step: ProvisionStep, userId: string) => {
    if (step !== "started" && step !== "created") return;
    seen.set(userId, { ...seen.get(userId), [step]: await nanoCpus(userId) });
  };
  /** The harness's runtime with setCpus failing its first `failures` calls (every call when Infinity). */
  const flakyRuntime = (failures: number) => {
    const calls = { n: 0, failures };
    const runtime = Object.create(h.runtime) as SandboxRuntime;
    runtime.setCpus = async (opts) => {
      calls.n++;
      if (calls.n <= calls.failures) throw new Error(`daemon refused update #${calls.n}`);
      return h.runtime.setCpus!(opts);
    };
    return { runtime, calls };
  };
  /** The harness's settings (sandbox-harness.ts) with a startup boost. */
  const withBoost = (startCpus: number) => ({ image: TEST_AGENT_IMAGE, limits: { memoryMb: 256, cpus: 0.5, pids: 128 }, gatewayPort: () => 3001, startCpus });

  beforeAll(async () => {
    ensureAgentImage();
    h = await createSandboxHarness({ kind: "docker", service: { hooks: { onStep } } });
    boosted = h.replica({ settings: withBoost(1), cpuSettleDelaysMs: [50, 50] });
  }, 600_000);
  afterAll(() => h?.cleanup(), 120_000);

  it("creates with the boost, runs at the configured limit after ensure(), and boosts a wake from stopped again", async () => {
    const userId = await h.createUser();
    await boosted.ensure(userId);
    expect(seen.get(userId)?.created).toBe(BOOST);
    expect(seen.get(userId)?.started).toBe(BOOST);
    await boosted.cpuSettled(userId);
    expect(await nanoCpus(userId)).toBe(LIMIT);

    await boosted.stop(userId);
    // Stopped, it waits at the boost: the wake starts it without another daemon call first.
    expect(await nanoCpus(userId)).toBe(BOOST);
    seen.delete(userId);
    await boosted.ensure(userId);
    expect(seen.get(userId)?.started).toBe(BOOST);
    await boosted.cpuSettled(userId);
    expect(await nanoCpus(userId)).toBe(LIMIT);
    expect(boosted.unsettledCpus()).toEqual([]);
    // The agent answers at its steady limit.
    const status = await h.connections.request(await boosted.ensure(userId), "status", {});
    expect(status).toBeTruthy();
  }, 120_000);

  it("without a boost (unset, or not above the limit) the sandbox never runs above the limit", async () => {
    const userId = await h.createUser();
    await h.service.ensure(userId);
    expect(seen.get(userId)).toEqual({ created: LIMIT, started: LIMIT });
    const notAbove = h.replica({ settings: withBoost(0.5) });
    await notAbove.stop(userId);
    seen.delete(userId);
    await notAbove.ensure(userId);
    expect(seen.get(userId)?.started).toBe(LIMIT);
    // Stopped at the limit (no boost then), a boosted wake raises it before the start.
    await notAbove.stop(userId);
    expect(await nanoCpus(userId)).toBe(LIMIT);
    seen.delete(userId);
    await boosted.ensure(userId);
    expect(seen.get(userId)?.started).toBe(BOOST);
    await boosted.cpuSettled(userId);
    expect(await nanoCpus(userId)).toBe(LIMIT);
  }, 120_000);

  it("caps the boost at the daemon's CPU count (the daemon refuses more)", async () => {
    const { NCPU } = (await docker.info()) as { NCPU: number };
    const huge = h.replica({ settings: withBoost(64) });
    const userId = await h.createUser();
    await huge.ensure(userId);
    expect(seen.get(userId)?.started).toBe(NCPU > 0.5 ? NCPU * 1e9 : LIMIT);
    await huge.cpuSettled(userId);
    expect(await nanoCpus(userId)).toBe(LIMIT);
  }, 120_000);

  it("retries a lowering that fails, and leaves one that keeps failing to the reconciler", async () => {
    const settings = withBoost(1);
    const once = flakyRuntime(2);
    const retrying = h.replica({ runtime: once.runtime, settings, cpuSettleDelaysMs: [20, 20, 20] });
    const a = await h.createUser();
    await retrying.ensure(a);
    await retrying.cpuSettled(a);
    expect(once.calls.n).toBe(3);
    expect(await nanoCpus(a)).toBe(LIMIT);
    expect(retrying.unsettledCpus()).toEqual([]);

    const never = flakyRuntime(Infinity);
    const failing = h.replica({ runtime: never.runtime, settings, cpuSettleDelaysMs: [20, 20] });
    const b = await h.createUser();
    await failing.ensure(b);
    await failing.cpuSettled(b);
    expect(never.calls.n).toBe(3);
    expect(failing.unsettledCpus()).toEqual([b]);
    expect(await nanoCpus(b)).toBe(BOOST);
    // The reconciler retries it on every pass, not only on its audit passes (the first, then every 1000th).
    const reconciler = new Reconciler({ db: h.testDb.database.db, runtime: h.runtime, service: failing, logger: h.logger, waitReady: () => Promise.resolve(), cpuAuditEveryPasses: 1000 });
    expect((await reconciler.runOnce()).cpuLowered).toEqual([]); // the daemon still refuses
    expect(failing.unsettledCpus()).toEqual([b]);
    never.calls.failures = 0; // the daemon is back
    expect((await reconciler.runOnce()).cpuLowered).toEqual([b]);
    expect(await nanoCpus(b)).toBe(LIMIT);
    expect(failing.unsettledCpus()).toEqual([]);
  }, 120_000);

  it("the reconciler's audit lowers a boost a dead control plane left behind, on its first pass and every Nth", async () => {
    const userId = await h.createUser();
    await h.service.ensure(userId);
    // A control plane that died between the boosted start and the lowering.
    await docker.getContainer(containerName(userId)).update({ NanoCpus: BOOST });
    const reconciler = new Reconciler({ db: h.testDb.database.db, runtime: h.runtime, service: h.service, logger: h.logger, waitReady: () => Promise.resolve(), cpuAuditEveryPasses: 2 });
    expect((await reconciler.runOnce()).cpuLowered).toContain(userId);
    expect(await nanoCpus(userId)).toBe(LIMIT);
    await docker.getContainer(containerName(userId)).update({ NanoCpus: BOOST });
    expect((await reconciler.runOnce()).cpuLowered).not.toContain(userId); // pass 1: no audit
    expect(await nanoCpus(userId)).toBe(BOOST);
    expect((await reconciler.runOnce()).cpuLowered).toContain(userId); // pass 2: audit
    expect(await nanoCpus(userId)).toBe(LIMIT);
    expect((await reconciler.runOnce()).cpuLowered).toEqual([]);
  }, 120_000);
});
