import { sandboxServiceSuite } from "../../test-support/sandbox-service-suite";

/**
 * The same SandboxService behaviours as on Docker and processes, on KubernetesRuntime driving the
 * real @kubernetes/client-node against the in-repo fake API server, whose fake kubelet runs each
 * pod's real agent as a local process. Proves the runtime's REST use and its state mapping; it
 * cannot prove what only a real cluster does (scheduling, image pulls, securityContext and
 * NetworkPolicy enforcement): the contract suite does that when KUBECONFIG is set.
 */
describe("SandboxService on the Kubernetes runtime (fake API server + fake kubelet)", () => {
  sandboxServiceSuite("kubernetes");
});
