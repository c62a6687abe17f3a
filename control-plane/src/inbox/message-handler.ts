import type { AgentPort } from "../agent-port";
import type { NewOutboundMessage } from "../outbox/types";
import type { InboxHandler } from "./dispatcher";
import type { InboundEventRow, InboundMessagePayload } from "./types";

/**
 * One chat turn: hand the text to the user's agent with the inbox row id as idempotency key (a
 * redelivery after a crash gets the stored reply, the turn does not run twice), and reply on the
 * channel the message came from. A channel's own turn (whatsapp/turn.ts) calls this once it has
 * prepared the message.
 */
export async function chatTurn(agent: Pick<AgentPort, "call">, event: InboundEventRow, chat: Partial<InboundMessagePayload>, signal?: AbortSignal): Promise<NewOutboundMessage[]> {
  const result = await agent.call(
    event.userId,
    "chat.send",
    {
      idempotencyKey: event.id,
      channel: event.channel,
      text: typeof chat.text === "string" ? chat.text : "",
      ...(chat.spoken !== undefined ? { spoken: chat.spoken } : {}),
      ...(chat.attachments ? { attachments: chat.attachments } : {}),
      ...(chat.sentAt ? { sentAt: chat.sentAt } : {}),
      ...(chat.senderName ? { senderName: chat.senderName } : {}),
    },
    { signal },
  );
  const reply = result.reply.trim();
  if (!reply) return [];
  return [{ userId: event.userId, channel: event.channel, kind: "text", body: reply, inboxId: event.id }];
}

/** The plain handler for kind "message": the event's payload as it is, one chat turn. */
export function messageHandler(deps: { agent: Pick<AgentPort, "call"> }): InboxHandler {
  return (event, { signal }) => chatTurn(deps.agent, event, event.payload as Partial<InboundMessagePayload>, signal);
}
