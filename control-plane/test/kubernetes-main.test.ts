import { existsSync, readdirSync } from "node:fs";
import { sql } from "drizzle-orm";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { startFakeCluster, type FakeCluster } from "../../test-support/fake-cluster";
import { sign, textWebhook } from "../../test-support/meta-samples";
import { rows } from "../src/db/database";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { claimName, podName, secretName } from "../src/sandboxes/kubernetes-manifests";
import { AgentEnv } from "@concierge/protocol";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, VERIFY_TOKEN, waitFor } from "./whatsapp-harness";

/**
 * The control plane as main.ts builds it with SANDBOX_RUNTIME=kubernetes and KUBECONFIG aimed at the
 * in-repo fake API server, whose fake kubelet runs each pod's real agent as a local process. A
 * signed WhatsApp message for a new user goes webhook → inbox → ensure (PVC, Secret, NetworkPolicy,
 * Pod through the real @kubernetes/client-node) → signed socket to the pod's IP → reply at the
 * Graph API. What it cannot show: a real scheduler, image pulls, enforced policies and limits.
 */
describe("control plane on the Kubernetes runtime (fake API server + fake kubelet)", () => {
  let cluster: FakeCluster;
  let fake: FakeGraphApi;
  let cp: ControlPlane;
  const waId = "4915112345678";

  beforeAll(async () => {
    cluster = await startFakeCluster();
    fake = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
    cp = await startTestControlPlane({
      SANDBOX_RUNTIME: "kubernetes",
      KUBECONFIG: cluster.kubeconfigFile,
      KUBE_NAMESPACE: cluster.namespace,
      // No LLM is configured (the agent's offline brain answers), so nothing calls this; a real
      // cluster names the gateway Service here.
      SANDBOX_GATEWAY_URL: "http://127.0.0.1:9/llm/v1",
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
      WHATSAPP_API_BASE_URL: fake.baseUrl,
    });
  }, 60_000);
  afterAll(async () => {
    await cp?.stop();
    await fake?.stop();
    await cluster?.close();
  }, 60_000);

  const say = (body: string) => {
    const payload = textWebhook({ waId, name: "Kube User", body });
    return fetch(`${cp.url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sign(payload, APP_SECRET) }, body: payload });
  };
  const replies = () => fake.sentMessages().map((m) => String(m.text?.body ?? ""));
  const admin = (path: string) =>
    fetch(`${cp.url}/sandbox/${path}`, { method: "POST", headers: { authorization: `Bearer ${cp.admin.generatedToken}` }, signal: AbortSignal.timeout(60_000) });

  it("a signed message for a new user creates PVC, Secret and Pod; the reply comes from that pod; stop keeps the PVC; wake finds the data", async () => {
    expect(cp.runtime).toEqual({ kind: "kubernetes", reason: "SANDBOX_RUNTIME=kubernetes (KUBECONFIG)" });
    expect((await say("remember that I am vegetarian")).status).toBe(200);
    await waitFor(async () => replies().length === 1, 60_000, "the first reply");
    expect(replies()[0]).toMatch(/remember/i);

    const [user] = await rows<{ id: string }>(cp.database.db, sql`SELECT id FROM users WHERE wa_id = ${waId}`);
    const userId = user!.id;
    const ns = cluster.namespace;
    const pod = cluster.api.get("pods", ns, podName(userId))!;
    expect(pod).toBeDefined();
    expect(cluster.api.get("persistentvolumeclaims", ns, claimName(userId))).toBeDefined();
    const secret = cluster.api.get("secrets", ns, secretName(userId))!;
    expect(secret).toBeDefined();
    // The token is in the Secret and referenced from the pod, never written into its spec.
    const token = Buffer.from((secret.data as Record<string, string>).token!, "base64").toString("utf8");
    expect(token.length).toBeGreaterThan(20);
    expect(JSON.stringify(pod)).not.toContain(token);
    const env = (pod.spec as { containers: { env: { name: string; valueFrom?: unknown }[] }[] }).containers[0]!.env;
    expect(env.find((e) => e.name === AgentEnv.token)).toEqual({ name: AgentEnv.token, valueFrom: { secretKeyRef: { name: secretName(userId), key: "token" } } });
    // The control plane dialled the pod's own IP.
    const row = await cp.sandboxes.get(userId);
    expect(row).toMatchObject({ state: "running", endpoint: `ws://${(pod.status as { podIP: string }).podIP}:18789` });

    // Stop deletes the pod (after its agent exited) and keeps the claim and its files.
    expect((await admin(`${userId}/stop`)).status).toBe(200);
    expect(cluster.api.get("pods", ns, podName(userId))).toBeUndefined();
    expect(cluster.api.get("persistentvolumeclaims", ns, claimName(userId))).toBeDefined();
    const dataDir = cluster.kubelet.claimDir(ns, claimName(userId));
    expect(existsSync(dataDir) && readdirSync(dataDir).length).toBeGreaterThan(0);
    const startedBefore = cluster.kubelet.started.length;

    // The next message wakes it: a new pod, a new agent process, the same data.
    expect((await say("what do you remember")).status).toBe(200);
    await waitFor(async () => replies().length === 2, 60_000, "the reply after wake");
    expect(replies()[1]).toMatch(/vegetarian/);
    expect(cluster.kubelet.started.length).toBe(startedBefore + 1);
    expect(cluster.api.get("pods", ns, podName(userId))).toBeDefined();
    expect((await cp.sandboxes.get(userId))!.state).toBe("running");
  }, 180_000);
});
