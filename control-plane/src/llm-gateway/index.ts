// The LLM gateway's public surface: main.ts wires these; the sandbox service may call authenticator.forget.
export { createLlmGateway, type LlmGateway, type LlmGatewayOptions } from "./llm-gateway";
export { createUsageAdminRouter, type UsageAdminRouterOptions } from "./usage-admin-router";
export { usageSummary, usageByUser, type UsageSummary, type UsageTotals } from "./usage-store";
export { BudgetService, type BudgetStatus } from "./budget-service";
export { monthOf, parsePeriod, type Period } from "./period";
