import type { MethodName, MethodParams, MethodResult } from "@concierge/protocol";
import type { Tx } from "../../db/database";
import type { NewInboundEvent } from "../../inbox/types";
import type { NewOutboundMessage } from "../../outbox/types";

/** The agent methods a phone call uses. */
export type VoiceMethod = Extract<MethodName, "call.turn" | "tools.list" | "tool.call">;

/**
 * What the voice channel needs from the sandboxes and the connection pool, by user: main.ts builds
 * it from SandboxService.ensure and ConnectionManager.request (see agentForVoice).
 */
export interface VoiceAgent {
  request<M extends VoiceMethod>(userId: string, method: M, params: MethodParams<M>): Promise<MethodResult<M>>;
  /** Starts (or wakes) the user's sandbox without waiting: the caller hears the greeting meanwhile. */
  warm(userId: string): void;
}

/** The inbox's enqueue, inside the caller's transaction. */
export interface VoiceInbox {
  enqueue(tx: Tx, event: NewInboundEvent): Promise<unknown>;
}

/** The outbox's enqueue, inside the caller's transaction (the WhatsApp "was that you?" question). */
export interface VoiceOutbox {
  enqueue(tx: Tx, messages: NewOutboundMessage[]): Promise<unknown>;
}

interface AgentTargetLike {
  sandboxId: string;
}

/** Adapts SandboxService.ensure + ConnectionManager.request to the VoiceAgent seam. */
export function agentForVoice<T extends AgentTargetLike>(deps: {
  ensure(userId: string): Promise<T>;
  request<M extends MethodName>(target: T, method: M, params: MethodParams<M>): Promise<MethodResult<M>>;
  onWarmError?: (userId: string, err: unknown) => void;
}): VoiceAgent {
  return {
    async request(userId, method, params) {
      const target = await deps.ensure(userId);
      return deps.request(target, method, params);
    },
    warm(userId) {
      deps.ensure(userId).catch((err) => deps.onWarmError?.(userId, err));
    },
  };
}
