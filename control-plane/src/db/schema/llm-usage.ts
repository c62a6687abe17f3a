import { boolean, doublePrecision, index, integer, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, uuidId } from "./columns";
import { userIdColumn } from "./users";

/**
 * One row per LLM gateway call that reached the budget check: what it cost and how it ended.
 * sandbox_id is kept as plain text (no foreign key) so a user's spending survives the sandbox
 * being deleted and recreated; the user's rows go with the user.
 */
export const llmUsage = pgTable(
  "llm_usage",
  {
    id: uuidId(),
    userId: userIdColumn(),
    sandboxId: text("sandbox_id").notNull(),
    /** "chat.completions" or "audio.transcriptions". */
    endpoint: text("endpoint").notNull(),
    model: text("model").notNull(),
    /** x-concierge-purpose: "chat" or "heartbeat" when the agent said so. */
    purpose: text("purpose"),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    costUsd: doublePrecision("cost_usd").notNull().default(0),
    /** True when the provider sent no usage (a stream cut short) and tokens were estimated from text. */
    estimated: boolean("estimated").notNull().default(false),
    /** ok, upstream_error, timeout, aborted, failed, budget_exceeded. */
    status: text("status").notNull(),
    httpStatus: integer("http_status").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    /** Set from the gateway's injected clock, so the budget period and the rows agree in tests. */
    createdAt: createdAt(),
  },
  (t) => [index("llm_usage_user_created_idx").on(t.userId, t.createdAt), index("llm_usage_created_idx").on(t.createdAt)],
);
export type LlmUsage = typeof llmUsage.$inferSelect;
export type NewLlmUsage = typeof llmUsage.$inferInsert;
