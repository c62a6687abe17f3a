import type { Clock } from "../clock";
import type { Db } from "../db/database";
import type { Logger } from "../logger";
import type { GatewayMetrics } from "./gateway-metrics";
import type { SandboxIdentity } from "./sandbox-authenticator";
import { costUsd, type Prices, type UsageNumbers } from "./usage-accounting";
import { recordUsage, type UsageStatus } from "./usage-store";

export type Endpoint = "chat.completions" | "audio.transcriptions";

export interface MeteredCall {
  identity: SandboxIdentity;
  endpoint: Endpoint;
  model: string;
  purpose: string | null;
  /** performance.now() at arrival: latency is a measurement, not a schedule, so it needs no clock. */
  startedAt: number;
}

export interface CallOutcome {
  status: UsageStatus;
  httpStatus: number;
  usage?: UsageNumbers;
  estimated?: boolean;
}

/**
 * Writes one llm_usage row per call and moves the Prometheus counters. A failure to write is
 * logged, never thrown: the answer has already gone to the sandbox by then.
 */
export class UsageMeter {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly prices: Prices,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  async record(call: MeteredCall, outcome: CallOutcome): Promise<void> {
    const usage = outcome.usage ?? { promptTokens: 0, completionTokens: 0 };
    const cost = costUsd(usage, this.prices);
    const model = call.model;
    const latencyMs = Math.max(0, Math.round(performance.now() - call.startedAt));
    this.metrics.requests.inc({ endpoint: call.endpoint, status: outcome.status });
    this.metrics.latency.observe({ endpoint: call.endpoint }, latencyMs / 1000);
    if (usage.promptTokens > 0) this.metrics.tokens.inc({ model, kind: "prompt" }, usage.promptTokens);
    if (usage.completionTokens > 0) this.metrics.tokens.inc({ model, kind: "completion" }, usage.completionTokens);
    if (cost > 0) this.metrics.cost.inc({ model }, cost);
    try {
      await recordUsage(this.db, {
        userId: call.identity.userId,
        sandboxId: call.identity.sandboxId,
        endpoint: call.endpoint,
        model,
        purpose: call.purpose,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        costUsd: cost,
        estimated: outcome.estimated ?? false,
        status: outcome.status,
        httpStatus: outcome.httpStatus,
        latencyMs,
        createdAt: this.clock.now(),
      });
    } catch (err) {
      this.log.error({ err, sandboxId: call.identity.sandboxId, userId: call.identity.userId }, "could not record LLM usage");
    }
  }

  /** Refusals before a call is metered (no identity, rate limit, bad request): counters only. */
  refused(endpoint: string, status: string): void {
    this.metrics.requests.inc({ endpoint, status });
  }
}
