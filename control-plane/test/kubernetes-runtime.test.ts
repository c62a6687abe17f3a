import { startFakeCluster, type FakeCluster } from "../../test-support/fake-cluster";
import { kubernetesRuntimeContract } from "../../test-support/kube-runtime-contract";
import { deployManifests } from "../../test-support/kube-schema";
import { testKubernetesRuntime, TEST_AGENT_IMAGE } from "../../test-support/sandbox-harness";
import { createLogger } from "../src/logger";

/**
 * KubernetesRuntime's contract on the fake API server (the same scenarios kubernetes-contract.test.ts
 * runs on a real cluster), then: every call it made is one the Role in deploy/kubernetes grants,
 * and the Role grants nothing it does not use.
 */
let cluster: FakeCluster;
afterAll(() => cluster?.close(), 60_000);

describe("KubernetesRuntime contract [fake API server + fake kubelet]", () => {
  kubernetesRuntimeContract(async () => {
    cluster = await startFakeCluster();
    const runtime = testKubernetesRuntime(cluster, createLogger({ level: "silent" }), "contract-fake");
    return { runtime, kubeConfig: cluster.kubeConfig, namespace: cluster.namespace, image: TEST_AGENT_IMAGE };
  });
});

describe("RBAC in deploy/kubernetes matches what the runtime calls", () => {
  it("every request the contract made is granted by the Role; every grant was used", () => {
    const verbOf = (method: string, named: boolean) =>
      ({ GET: named ? "get" : "list", POST: "create", DELETE: "delete", PUT: "update", PATCH: "patch" })[method] ?? method;
    const used = new Set<string>();
    for (const r of cluster.api.requests) {
      const m = /\/namespaces\/[^/]+\/([a-z]+)(?:\/([^/]+))?(?:\/(log))?$/.exec(r.path);
      if (!m) continue;
      const resource = m[3] ? `${m[1]}/${m[3]}` : m[1]!;
      // Reads the contract makes itself (to check objects exist) are not the runtime's.
      used.add(`${resource}:${verbOf(r.method, !!m[2])}`);
    }
    const role = deployManifests().find((d) => d.doc.kind === "Role")!.doc as unknown as { rules: { resources: string[]; verbs: string[] }[] };
    const granted = new Set(role.rules.flatMap((rule) => rule.resources.flatMap((res) => rule.verbs.map((v) => `${res}:${v}`))));
    // The contract's own existence checks read claims and policies; the runtime never does.
    const testOnly = new Set(["persistentvolumeclaims:get", "networkpolicies:get"]);
    const runtimeUsed = [...used].filter((u) => !testOnly.has(u));
    for (const u of runtimeUsed) expect({ call: u, granted: granted.has(u) }).toEqual({ call: u, granted: true });
    for (const g of granted) expect({ grant: g, used: runtimeUsed.includes(g) }).toEqual({ grant: g, used: true });
  });
});
