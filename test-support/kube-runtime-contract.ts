import type { CoreV1Api, KubeConfig } from "@kubernetes/client-node" with { "resolution-mode": "import" };
import { generateSigningKeyPair } from "@concierge/protocol";
import { buildAgentEnv } from "../control-plane/src/sandboxes/agent-env";
import { loadKubeClient } from "../control-plane/src/sandboxes/kube-client";
import { claimName, policyName, secretName } from "../control-plane/src/sandboxes/kubernetes-manifests";
import type { KubernetesRuntime } from "../control-plane/src/sandboxes/kubernetes-runtime";
import { RuntimeError, type SandboxSpec } from "../control-plane/src/sandboxes/runtime";
import { TEST_RUN_ID } from "./docker";

/**
 * KubernetesRuntime's contract, the same scenarios against the fake API server
 * (kubernetes-runtime.test.ts) and against a real cluster (kubernetes-contract.test.ts, when
 * KUBECONFIG is set). It checks objects through the API only, never by dialling a pod, so it
 * holds wherever the test runs.
 */
export interface ContractTarget {
  runtime: KubernetesRuntime;
  kubeConfig: KubeConfig;
  namespace: string;
  image: string;
}

export function kubernetesRuntimeContract(setup: () => Promise<ContractTarget>): void {
  let t: ContractTarget;
  let core: CoreV1Api;
  const made: string[] = [];
  const keys = generateSigningKeyPair();
  const exists = async (read: () => Promise<unknown>) =>
    read().then(
      () => true,
      (err: { code?: number }) => {
        if (err?.code === 404) return false;
        throw err;
      },
    );
  const claimExists = (userId: string) => exists(() => core.readNamespacedPersistentVolumeClaim({ name: claimName(userId), namespace: t.namespace }));
  const secretExists = (userId: string) => exists(() => core.readNamespacedSecret({ name: secretName(userId), namespace: t.namespace }));
  const specFor = (userId: string, memoryMb = 256): SandboxSpec => {
    const sandboxId = `sbx-${userId}`;
    const env = buildAgentEnv({ sandboxId, token: `tok-${TEST_RUN_ID}-${userId}`, publicKeyPem: keys.publicKeyPem, dataDir: "/data", gatewayUrl: "http://127.0.0.1:9/llm/v1", timezone: "UTC" });
    return { userId, sandboxId, image: t.image, env, limits: { memoryMb, cpus: 0.25, pids: 128 }, configHash: `h${memoryMb}` };
  };
  const newUser = () => {
    const id = `contract-${TEST_RUN_ID}-${made.length}`.toLowerCase();
    made.push(id);
    return id;
  };

  beforeAll(async () => {
    t = await setup();
    core = t.kubeConfig.makeApiClient((await loadKubeClient()).CoreV1Api);
  }, 60_000);
  afterAll(async () => {
    for (const userId of made) await t?.runtime.remove({ userId, removeData: true }).catch(() => undefined);
  }, 120_000);

  it("create makes the Secret, claim and policy but no pod; a second create adopts them", async () => {
    const userId = newUser();
    const inst = await t.runtime.create({ spec: specFor(userId) });
    expect(inst).toMatchObject({ userId, sandboxId: `sbx-${userId}`, configHash: "h256", running: false, endpoint: null });
    expect(await claimExists(userId)).toBe(true);
    expect(await secretExists(userId)).toBe(true);
    const net = t.kubeConfig.makeApiClient((await loadKubeClient()).NetworkingV1Api);
    expect(await exists(() => net.readNamespacedNetworkPolicy({ name: policyName(userId), namespace: t.namespace }))).toBe(true);
    expect((await t.runtime.create({ spec: specFor(userId) })).sandboxId).toBe(`sbx-${userId}`);
  });

  it("start runs the pod to Ready with an endpoint; stop deletes the pod and keeps the claim; wake makes a new pod", async () => {
    const userId = newUser();
    await t.runtime.create({ spec: specFor(userId) });
    const first = await t.runtime.start({ userId });
    expect(first.running).toBe(true);
    expect(first.endpoint).toMatch(/^ws:\/\/[\d.:a-f]+:18789$/);
    expect((await t.runtime.list()).filter((i) => i.userId === userId)).toHaveLength(1);
    await t.runtime.stop({ userId, timeoutSeconds: 5 });
    expect(await t.runtime.inspect({ userId })).toMatchObject({ running: false, endpoint: null });
    expect(await claimExists(userId)).toBe(true);
    await t.runtime.stop({ userId }); // stopping what is stopped is success
    const woken = await t.runtime.start({ userId });
    expect(woken.running).toBe(true);
    expect(woken.id).not.toBe(first.id);
    expect(typeof (await t.runtime.logs({ userId, tail: 20 }))).toBe("string");
  }, 240_000);

  it("remove keeps the claim unless asked; removing what is gone is success; starting what does not exist is a RuntimeError", async () => {
    const userId = newUser();
    await t.runtime.create({ spec: specFor(userId) });
    await t.runtime.remove({ userId, removeData: false });
    expect(await t.runtime.inspect({ userId })).toBeNull();
    expect(await claimExists(userId)).toBe(true);
    await t.runtime.remove({ userId, removeData: true });
    expect(await claimExists(userId)).toBe(false);
    await t.runtime.remove({ userId, removeData: true });
    await expect(t.runtime.start({ userId })).rejects.toBeInstanceOf(RuntimeError);
  }, 120_000);
}
