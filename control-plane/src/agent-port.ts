import type { MethodName, MethodParams, MethodResult } from "@concierge/protocol";
import type { AgentTarget } from "./connections/agent-connection";
import type { Logger } from "./logger";

/** Per-call options: the dispatcher's abort signal (a stopping process releases the turn), a tighter timeout. */
export interface AgentCallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * How every part reaches a user's agent: by user id, never by sandbox. Built once in main.ts from
 * SandboxService (ensure: create, start or wake) and ConnectionManager (request over the signed
 * socket); channels, the message handler and the scheduler take this instead of either.
 */
export interface AgentPort {
  call<M extends MethodName>(userId: string, method: M, params: MethodParams<M>, opts?: AgentCallOptions): Promise<MethodResult<M>>;
  /** Starts (or wakes) the user's sandbox without waiting: a caller hears the greeting meanwhile. */
  warm(userId: string): void;
  /** The running sandbox's own token, for calls made on its behalf (a voice note through the LLM gateway). */
  token(userId: string): Promise<string>;
}

/** What createAgentPort needs from SandboxService. */
export interface SandboxEnsurer {
  ensure(userId: string): Promise<AgentTarget>;
}

/** What createAgentPort needs from ConnectionManager. */
export interface AgentRequester {
  request<M extends MethodName>(target: AgentTarget, method: M, params: MethodParams<M>, opts?: AgentCallOptions): Promise<MethodResult<M>>;
}

/** "Ensure the sandbox, then request": the one place it is written. */
export function createAgentPort(deps: { sandboxes: SandboxEnsurer; connections: AgentRequester; logger?: Logger }): AgentPort {
  return {
    async call(userId, method, params, opts) {
      const target = await deps.sandboxes.ensure(userId);
      return deps.connections.request(target, method, params, opts);
    },
    warm(userId) {
      deps.sandboxes.ensure(userId).catch((err) => deps.logger?.warn({ err, userId }, "could not start the user's sandbox ahead of use"));
    },
    async token(userId) {
      return (await deps.sandboxes.ensure(userId)).token;
    },
  };
}
