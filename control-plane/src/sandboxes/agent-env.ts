import { AgentEnv } from "@concierge/protocol";

/**
 * The agent's environment, built in one place for every runtime. It carries the sandbox's own
 * token and the control plane's public key; it never carries a provider key: the agent reaches the
 * LLM only through the control plane's gateway.
 */
export interface AgentEnvInput {
  sandboxId: string;
  token: string;
  /** SPKI PEM of the control plane's signing key. */
  publicKeyPem: string;
  dataDir: string;
  gatewayUrl: string;
  timezone: string;
  userName?: string | null;
  llm?: { model: string; heartbeatModel: string };
  logLevel?: string;
}

export function buildAgentEnv(input: AgentEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    [AgentEnv.sandboxId]: input.sandboxId,
    [AgentEnv.token]: input.token,
    [AgentEnv.controlPlanePublicKey]: Buffer.from(input.publicKeyPem, "utf8").toString("base64"),
    [AgentEnv.dataDir]: input.dataDir,
    [AgentEnv.llmBaseUrl]: input.gatewayUrl,
    [AgentEnv.timezone]: input.timezone,
  };
  if (input.userName) env[AgentEnv.userName] = input.userName;
  if (input.llm) {
    env[AgentEnv.llmModel] = input.llm.model;
    env[AgentEnv.heartbeatModel] = input.llm.heartbeatModel;
  }
  if (input.logLevel) env[AgentEnv.logLevel] = input.logLevel;
  return env;
}
