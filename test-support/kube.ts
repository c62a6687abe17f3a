import { describeNeeding } from "./describe-needing";

/**
 * `describe` for the contract suite against a real cluster: runs when KUBECONFIG names one, is
 * skipped loudly otherwise, and fails when REQUIRE_KUBE=1 without one. It talks only to the API
 * server KUBECONFIG names, in KUBE_TEST_NAMESPACE (default concierge-test, which must exist).
 */
export function describeKube(name: string, fn: () => void): void {
  describeNeeding(
    {
      available: Boolean(process.env.KUBECONFIG),
      required: process.env.REQUIRE_KUBE === "1",
      failTitle: "needs a cluster (REQUIRE_KUBE=1)",
      failMessage: "REQUIRE_KUBE=1 but KUBECONFIG is not set",
      skipReason: "no KUBECONFIG, no cluster",
      skipTag: "needs a cluster: set KUBECONFIG",
    },
    name,
    fn,
  );
}

export const KUBE_TEST_NAMESPACE = process.env.KUBE_TEST_NAMESPACE ?? "concierge-test";
