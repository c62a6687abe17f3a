export * from "./frames";
export * from "./methods";
export * from "./events";
export * from "./signing";
export * from "./agent-env";
