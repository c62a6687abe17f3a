import { Gauge, Histogram, type Registry } from "prom-client";
import { SANDBOX_STATES } from "../db/schema";

/** What the sandbox parts report to /metrics. */
export interface SandboxMetrics {
  ensureSeconds: Histogram<"outcome" | "path">;
  byState: Gauge<"state">;
}

export function registerSandboxMetrics(registry: Registry): SandboxMetrics {
  const byState = new Gauge({ name: "concierge_sandboxes", help: "Sandboxes by state, as of the reconciler's last pass", labelNames: ["state"], registers: [registry] });
  for (const s of SANDBOX_STATES) byState.set({ state: s }, 0);
  return {
    ensureSeconds: new Histogram({
      name: "concierge_sandbox_ensure_seconds",
      help: "Time for ensure() to return a handshake-ready sandbox; path: ready (already running), wake, create",
      labelNames: ["outcome", "path"],
      buckets: [0.005, 0.05, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    byState,
  };
}
