import { writeFileSync } from "node:fs";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node" with { "resolution-mode": "import" };
import { loadKubeClient } from "../control-plane/src/sandboxes/kube-client";
import { AGENT_ENTRY } from "../control-plane/src/sandboxes/runtime-choice";
import { FakeKubeApi } from "./fake-kube-api";
import { FakeKubelet } from "./fake-kubelet";

/** The sandbox namespace the fake cluster's tests use. */
export const FAKE_NAMESPACE = "concierge-sandboxes";

/** A fake API server and its kubelet running real agents, plus a kubeconfig for the real client. */
export interface FakeCluster {
  api: FakeKubeApi;
  kubelet: FakeKubelet;
  url: string;
  namespace: string;
  kubeConfig: KubeConfig;
  /** A kubeconfig file pointing at it: what KUBECONFIG names for startControlPlane. */
  kubeconfigFile: string;
  close(): Promise<void>;
}

export async function startFakeCluster(): Promise<FakeCluster> {
  const api = new FakeKubeApi();
  const url = await api.listen();
  const kubelet = new FakeKubelet({ api, agentEntry: AGENT_ENTRY, imageEnv: { WORKSPACE_TEMPLATES_DIR: path.resolve(__dirname, "../workspace-templates") } });
  const k8s = await loadKubeClient();
  const kubeConfig = new k8s.KubeConfig();
  const options = {
    clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
    users: [{ name: "fake", token: "fake-token" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake", namespace: FAKE_NAMESPACE }],
    currentContext: "fake",
  };
  kubeConfig.loadFromOptions(options);
  const kubeconfigFile = path.join(kubelet.root, "kubeconfig.json");
  // kubeconfig is YAML, and JSON is YAML.
  writeFileSync(
    kubeconfigFile,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "fake", user: { token: "fake-token" } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "fake", namespace: FAKE_NAMESPACE } }],
      "current-context": "fake",
    }),
  );
  return {
    api,
    kubelet,
    url,
    namespace: FAKE_NAMESPACE,
    kubeConfig,
    kubeconfigFile,
    async close() {
      await kubelet.stop();
      await api.close();
    },
  };
}
