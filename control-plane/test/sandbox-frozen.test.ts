import Dockerode from "dockerode";
import type { MethodName, MethodParams } from "@concierge/protocol";
import { ManualClock } from "../src/clock";
import { containerName } from "../src/sandboxes/container-spec";
import { describeDocker } from "../../test-support/docker";
import { createSandboxHarness, ensureAgentImage, type SandboxHarness } from "../../test-support/sandbox-harness";

/**
 * The frozen tier on the real Docker daemon with the real agent: idle sandboxes are first frozen
 * (docker pause; the control plane's socket kept and not pinged), then stopped after the longer
 * idle time; a message or a due reminder for a frozen one thaws it and is answered.
 */
describeDocker("frozen tier, Docker runtime", () => {
  const docker = new Dockerode();
  const clock = new ManualClock(new Date());
  let h: SandboxHarness;
  let seq = 0;
  const key = () => `frozen-${Date.now()}-${++seq}`;
  /** What main.ts hands the scheduler and the channels: ensure(), then one request on the shared socket. */
  const call = async <M extends MethodName>(userId: string, method: M, params: MethodParams<M>) =>
    h.connections.request(await h.service.ensure(userId), method, params);
  const state = async (userId: string) => (await docker.getContainer(containerName(userId)).inspect()).State;
  const idleFor = (minutes: number) => clock.advance(minutes * 60_000);

  beforeAll(async () => {
    ensureAgentImage();
    h = await createSandboxHarness({ kind: "docker", clock, idleMinutes: 15, freezeMinutes: 2 });
  }, 600_000);
  afterAll(() => h?.cleanup(), 120_000);

  async function frozenSandbox(): Promise<{ userId: string; sandboxId: string }> {
    const userId = await h.createUser();
    const target = await h.service.ensure(userId);
    idleFor(3);
    expect((await h.culler.pass()).frozen).toContain(userId);
    return { userId, sandboxId: target.sandboxId };
  }

  it("freezes an idle sandbox (paused, socket kept, not pinged), then stops it after the longer idle time", async () => {
    const { userId, sandboxId } = await frozenSandbox();
    expect((await h.service.get(userId))?.state).toBe("frozen");
    expect((await state(userId)).Paused).toBe(true);
    expect(h.connections.isFrozen(sandboxId)).toBe(true);
    expect(h.connections.openCount).toBeGreaterThanOrEqual(1);

    idleFor(5); // 8 minutes idle: still frozen
    expect(await h.culler.pass()).toEqual({ frozen: [], stopped: [] });
    idleFor(8); // 16 minutes idle: stopped
    expect((await h.culler.pass()).stopped).toContain(userId);
    expect((await h.service.get(userId))?.state).toBe("stopped");
    const s = await state(userId);
    expect(s.Running).toBe(false);
    expect(s.Paused).toBe(false);
    // SIGTERM reached a thawed agent: it stopped gracefully, not killed after the timeout.
    expect(s.ExitCode).toBe(0);
  }, 120_000);

  it("answers a message to a frozen sandbox on the same socket, and it is running again", async () => {
    const { userId, sandboxId } = await frozenSandbox();
    const open = h.connections.openCount;
    const r = await call(userId, "chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "hello" });
    expect(r.reply.length).toBeGreaterThan(0);
    expect((await h.service.get(userId))?.state).toBe("running");
    expect((await state(userId)).Paused).toBe(false);
    expect(h.connections.isFrozen(sandboxId)).toBe(false);
    expect(h.connections.openCount).toBe(open);
    // Active again: a fresh idle period must pass before it is frozen again.
    idleFor(1);
    expect((await h.culler.pass()).frozen).not.toContain(userId);
  }, 120_000);

  it("fires a reminder that fell due while the sandbox was frozen", async () => {
    const userId = await h.createUser();
    const set = await call(userId, "chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "remind me to water the plants tomorrow at 9am" });
    expect(set.reply).toMatch(/water the plants/);
    idleFor(3);
    expect((await h.culler.pass()).frozen).toContain(userId);
    // The scheduler's delivery (alarm-handler): alarm.fire through ensure(), judged at the due time.
    const due = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
    const fired = await call(userId, "alarm.fire", { idempotencyKey: key(), now: due });
    expect(fired.reminders.map((x) => x.text)).toEqual(["water the plants"]);
    expect((await h.service.get(userId))?.state).toBe("running");
  }, 120_000);

  it("the reconciler records a container paused behind the row's back as frozen, and leaves a frozen one alone", async () => {
    const userId = await h.createUser();
    await h.service.ensure(userId);
    await h.runtime.pause!({ userId });
    await h.reconciler.runOnce();
    expect((await h.service.get(userId))?.state).toBe("frozen");
    await h.reconciler.runOnce();
    expect((await state(userId)).Paused).toBe(true);
    // ...and ensure() thaws it.
    await h.service.ensure(userId);
    expect((await state(userId)).Paused).toBe(false);
    // Thawing what is not frozen says so, and is no error.
    expect(await h.runtime.unpause!({ userId })).toBe(false);
  }, 120_000);
});
