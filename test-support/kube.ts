/**
 * `describe` for the contract suite against a real cluster: runs when KUBECONFIG names one, is
 * skipped loudly otherwise, and fails when REQUIRE_KUBE=1 without one. It talks only to the API
 * server KUBECONFIG names, in KUBE_TEST_NAMESPACE (default concierge-test, which must exist).
 */
export function describeKube(name: string, fn: () => void): void {
  if (process.env.KUBECONFIG) {
    describe(name, fn);
  } else if (process.env.REQUIRE_KUBE === "1") {
    describe(name, () => {
      it("needs a cluster (REQUIRE_KUBE=1)", () => {
        throw new Error("REQUIRE_KUBE=1 but KUBECONFIG is not set");
      });
    });
  } else {
    process.stdout.write(`SKIPPED (no KUBECONFIG, no cluster): ${name}\n`);
    describe.skip(`[needs a cluster: set KUBECONFIG] ${name}`, fn);
  }
}

export const KUBE_TEST_NAMESPACE = process.env.KUBE_TEST_NAMESPACE ?? "concierge-test";
