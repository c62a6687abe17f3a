/**
 * The environment a sandbox's agent reads. Runtimes build it, the agent parses it; the names live
 * here once so the two cannot drift.
 */
export const AgentEnv = {
  sandboxId: "SANDBOX_ID",
  token: "SANDBOX_TOKEN",
  /** SPKI PEM of the control plane's Ed25519 key, base64-encoded to survive env quoting. */
  controlPlanePublicKey: "CONTROL_PLANE_PUBLIC_KEY",
  dataDir: "AGENT_DATA_DIR",
  port: "AGENT_PORT",
  host: "AGENT_HOST",
  llmBaseUrl: "LLM_BASE_URL",
  llmModel: "LLM_MODEL",
  heartbeatModel: "LLM_HEARTBEAT_MODEL",
  timezone: "USER_TIMEZONE",
  userName: "USER_NAME",
  templatesDir: "WORKSPACE_TEMPLATES_DIR",
  logLevel: "LOG_LEVEL",
  /** "1": stdin is a pipe held by whoever started the agent (the process runtime); exit when it closes. */
  exitWithStdin: "AGENT_EXIT_WITH_STDIN",
} as const;
