/**
 * How the agent reaches a model. Its own module because both ends of the agent need it: the
 * environment parser (env.ts) builds it and the model client (llm-client.ts) consumes it.
 */
export interface LlmOptions {
  /** The control plane's OpenAI-compatible gateway. */
  baseURL: string;
  /** The sandbox token: the gateway authenticates and meters by it. No provider key ever gets here. */
  apiKey: string;
  model: string;
  heartbeatModel?: string;
  timeoutMs?: number;
}
