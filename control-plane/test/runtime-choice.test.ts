import { loadConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { chooseRuntime } from "../src/sandboxes/runtime-choice";
import { describeDocker } from "../../test-support/docker";
import { startFakeCluster } from "../../test-support/fake-cluster";

const logger = createLogger({ level: "silent" });
const choose = (env: NodeJS.ProcessEnv) => chooseRuntime(loadConfig({ DATA_DIR: ":memory:", ...env }), logger, { instanceId: "runtime-choice-test" });

describe("sandbox runtime choice", () => {
  it("obeys SANDBOX_RUNTIME", async () => {
    expect((await choose({ SANDBOX_RUNTIME: "process" })).runtime.kind).toBe("process");
    expect((await choose({ SANDBOX_RUNTIME: "docker" })).runtime.kind).toBe("docker");
  });

  it("builds the Kubernetes runtime from KUBECONFIG, and needs the gateway Service's URL", async () => {
    const cluster = await startFakeCluster();
    try {
      const env = { SANDBOX_RUNTIME: "kubernetes", KUBECONFIG: cluster.kubeconfigFile, SANDBOX_GATEWAY_URL: "http://concierge-llm-gateway.concierge.svc:3001/llm/v1" };
      const { runtime, reason } = await choose(env);
      expect(runtime.kind).toBe("kubernetes");
      expect(reason).toBe("SANDBOX_RUNTIME=kubernetes (KUBECONFIG)");
      // It talks to the cluster KUBECONFIG names: an empty namespace lists nothing, through the API.
      expect(await runtime.list()).toEqual([]);
      expect(cluster.api.requests.some((r) => r.path === "/api/v1/namespaces/concierge-sandboxes/secrets")).toBe(true);
      expect(await runtime.gatewayUrl({ port: 3001 })).toBe(env.SANDBOX_GATEWAY_URL);
      expect(() => loadConfig({ SANDBOX_RUNTIME: "kubernetes" })).toThrow(/SANDBOX_GATEWAY_URL: required when SANDBOX_RUNTIME=kubernetes/);
    } finally {
      await cluster.close();
    }
  });
});

describeDocker("sandbox runtime choice with a Docker daemon", () => {
  it("runs processes, and says why, when the daemon has no agent image", async () => {
    const { runtime, reason } = await choose({ SANDBOX_IMAGE: "concierge-agent:no-such-tag-for-tests" });
    expect(runtime.kind).toBe("process");
    expect(reason).toContain("npm run sandbox:image");
  });

  it("uses Docker when the daemon has the agent image", async () => {
    const { runtime, reason } = await choose({});
    expect(runtime.kind).toBe("docker");
    expect(reason).toBe("a Docker daemon answers");
  });
});
