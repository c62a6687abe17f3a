import { Registry, collectDefaultMetrics } from "prom-client";

/** One registry per control plane (tests build several in one process). Roles add their own metrics to it. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "concierge_" });
  return registry;
}
export type { Registry } from "prom-client";
