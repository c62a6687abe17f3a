import type { MethodName, MethodParams, MethodResult } from "@concierge/protocol";
import type { AgentTarget } from "../connections/agent-connection";
import type { InboxHandler } from "./dispatcher";
import type { InboundMessagePayload } from "./types";

/** What the dispatcher needs from the sandboxes: a running, healthy sandbox for a user (SandboxService implements it). */
export interface SandboxEnsurer {
  ensure(userId: string): Promise<AgentTarget & { userId: string }>;
}

/** The slice of ConnectionManager the handlers use. */
export interface AgentRequester {
  request<M extends MethodName>(target: AgentTarget, method: M, params: MethodParams<M>, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<MethodResult<M>>;
}

/**
 * The built-in handler for kind "message": wake the user's sandbox, hand the text to the agent
 * with the inbox row id as idempotency key (a redelivery after a crash gets the stored reply, the
 * turn does not run twice), and reply on the channel the message came from.
 */
export function messageHandler(deps: { sandboxes: SandboxEnsurer; connections: AgentRequester }): InboxHandler {
  return async (event, { signal }) => {
    const p = event.payload as Partial<InboundMessagePayload>;
    const target = await deps.sandboxes.ensure(event.userId);
    const result = await deps.connections.request(
      target,
      "chat.send",
      {
        idempotencyKey: event.id,
        channel: event.channel,
        text: typeof p.text === "string" ? p.text : "",
        ...(p.spoken !== undefined ? { spoken: p.spoken } : {}),
        ...(p.attachments ? { attachments: p.attachments } : {}),
        ...(p.sentAt ? { sentAt: p.sentAt } : {}),
        ...(p.senderName ? { senderName: p.senderName } : {}),
      },
      { signal },
    );
    const reply = result.reply.trim();
    if (!reply) return [];
    return [{ userId: event.userId, channel: event.channel, kind: "text", body: reply, inboxId: event.id }];
  };
}
