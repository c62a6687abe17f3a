import type { MethodName, MethodParams, MethodResult } from "@concierge/protocol";
import type { Tx } from "../db/database";
import type { NewInboundEvent } from "../inbox/types";

/** Inserts an inbox event inside the caller's transaction; a duplicate (channel, providerId) is a no-op. */
export type EnqueueInbound = (tx: Tx, event: NewInboundEvent) => Promise<unknown>;

/**
 * How the scheduler's handlers reach a user's agent: wake (SandboxService.ensure) and ask
 * (ConnectionManager.request). main.ts composes it from those two parts.
 */
export interface AgentCaller {
  call<M extends MethodName>(userId: string, method: M, params: MethodParams<M>): Promise<MethodResult<M>>;
}

/** Places a phone call that says `text` (voice role, when Twilio is configured). */
export type PlaceCall = (userId: string, text: string) => Promise<void>;

/** What the scheduler puts in an inbox row's payload. */
export interface ScheduledEventPayload {
  scheduleId: string;
  /** The due time this event stands for (ISO). */
  slot: string;
  [key: string]: unknown;
}

export function scheduleProviderId(kind: "heartbeat" | "alarm", userId: string, slot: Date): string {
  return `${kind}:${userId}:${slot.toISOString()}`;
}
