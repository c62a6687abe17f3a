import { Counter, Registry, collectDefaultMetrics } from "prom-client";

/** One registry per control plane (tests build several in one process). Roles add their own metrics to it. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "concierge_" });
  return registry;
}
export type { Registry } from "prom-client";

/**
 * The counter `name` on `registry`, created on first use. One registry may be handed to a part
 * built more than once (a restarted sender, several schedulers in a test process), and prom-client
 * refuses a second metric of the same name.
 */
export function registryCounter<L extends string = string>(registry: Registry, name: string, help: string, labelNames: L[] = []): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames, registers: [registry] });
}
