import type { Logger } from "pino";
import type { EventName, EventPayload, MethodName } from "@concierge/protocol";
import { AgentError } from "./agent-error";

export { AgentError } from "./agent-error";

export interface LlmOptions {
  /** The control plane's OpenAI-compatible gateway. */
  baseURL: string;
  /** The sandbox token: the gateway authenticates and meters by it. No provider key ever gets here. */
  apiKey: string;
  model: string;
  heartbeatModel?: string;
  timeoutMs?: number;
}

export interface AgentOptions {
  /** SQLite file at `${dataDir}/agent.db` (WAL); workspace at `${dataDir}/workspace`. */
  dataDir: string;
  /** workspace-templates/, copied into the workspace on first boot and never overwritten after. */
  templatesDir: string;
  /** Default user timezone (IANA) until the profile tool sets one. */
  timezone: string;
  userName?: string;
  llm?: LlmOptions;
  now?: () => Date;
  logger: Logger;
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
}

export interface Agent {
  /**
   * params are already validated by the gateway against Methods[method].params; returns the result
   * object. Throws AgentError with a protocol ErrorCode for expected failures.
   */
  handle(method: MethodName, params: unknown): Promise<unknown>;
  close(): void;
}

export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const log = opts.logger.child({ component: "agent" });
  log.info("agent starting");
  return {
    async handle(method: MethodName): Promise<unknown> {
      throw new AgentError("method_not_found", `method ${method} is not implemented yet`);
    },
    close() {},
  };
}
