import { describeKube, KUBE_TEST_NAMESPACE } from "../../test-support/kube";
import { kubernetesRuntimeContract } from "../../test-support/kube-runtime-contract";
import { testKubernetesRuntime, TEST_AGENT_IMAGE } from "../../test-support/sandbox-harness";
import { loadKubeClient } from "../src/sandboxes/kube-client";
import { createLogger } from "../src/logger";

/**
 * The runtime contract against a real cluster (kind, k3s, a managed one): set KUBECONFIG, create the
 * namespace KUBE_TEST_NAMESPACE (default concierge-test), and make SANDBOX_IMAGE pullable there
 * (`kind load docker-image concierge-agent:latest`). Needs a default StorageClass. Everything it
 * makes is labelled with the test run and removed afterwards. docs/kubernetes.md says more.
 */
describeKube("KubernetesRuntime contract [real cluster from KUBECONFIG]", () => {
  kubernetesRuntimeContract(async () => {
    const k8s = await loadKubeClient();
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(process.env.KUBECONFIG!);
    const runtime = testKubernetesRuntime({ kubeConfig, namespace: KUBE_TEST_NAMESPACE }, createLogger({ level: "silent" }), "contract-real");
    return { runtime, kubeConfig, namespace: KUBE_TEST_NAMESPACE, image: TEST_AGENT_IMAGE };
  });
});
