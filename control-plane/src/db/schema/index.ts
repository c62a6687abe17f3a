// One file per area; add a line here when a role adds tables.
export * from "./users";
export * from "./sandboxes";
export * from "./messages";
export * from "./settings";
export * from "./llm-usage";
export * from "./llm-budgets";
export * from "./calls";
export * from "./scheduler";
export * from "./inbox";
export * from "./outbox";
export * from "./zoom";
export * from "./leases";
