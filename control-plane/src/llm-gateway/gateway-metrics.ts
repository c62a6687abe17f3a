import { Counter, Histogram, type Registry } from "prom-client";

/** Prometheus metrics of the LLM gateway. No user label: cardinality stays bounded; per-user figures are in the admin REST. */
export interface GatewayMetrics {
  requests: Counter<"endpoint" | "status">;
  tokens: Counter<"model" | "kind">;
  cost: Counter<"model">;
  latency: Histogram<"endpoint">;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    requests: new Counter({
      name: "concierge_llm_requests_total",
      help: "LLM gateway requests by endpoint and outcome (ok, upstream_error, timeout, aborted, failed, budget_exceeded, rate_limited, unauthorized, model_not_allowed, bad_request, not_configured)",
      labelNames: ["endpoint", "status"],
      registers: [registry],
    }),
    tokens: new Counter({
      name: "concierge_llm_tokens_total",
      help: "Tokens metered by the LLM gateway, by model and kind (prompt or completion)",
      labelNames: ["model", "kind"],
      registers: [registry],
    }),
    cost: new Counter({
      name: "concierge_llm_cost_usd_total",
      help: "USD spent through the LLM gateway, by model",
      labelNames: ["model"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "concierge_llm_request_duration_seconds",
      help: "LLM gateway request duration, from arrival to the last byte relayed",
      labelNames: ["endpoint"],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80],
      registers: [registry],
    }),
  };
}
