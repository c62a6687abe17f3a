import type { AgentPort } from "../../agent-port";
import type { InboxHandler } from "../../inbox/dispatcher";
import { chatTurn } from "../../inbox/message-handler";
import type { NewOutboundMessage } from "../../outbox/types";
import type { WhatsAppMessagePayload } from "./inbound";
import { splitOutbound } from "./split-message";
import type { WhatsAppTurnPreparer } from "./turn-preparer";

/**
 * Messages the control plane answers itself, before the agent sees them: another channel plugs
 * its commands in here (the voice channel's phone PIN and "yes, that was me", docs/voice-trust.md).
 */
export interface WhatsAppCommands {
  /** The reply to send instead of the agent's; undefined lets the agent answer. */
  answer(userId: string, text: string): Promise<string | undefined>;
}

export interface WhatsAppTurnDeps {
  agent: Pick<AgentPort, "call">;
  /** Read receipt with "typing…", voice notes transcribed; absent when WhatsApp is not configured. */
  preparer?: WhatsAppTurnPreparer;
  commands?: WhatsAppCommands;
}

/**
 * The dispatcher's handler for kind "message", the whole WhatsApp turn: prepare (read + typing,
 * transcription: the agent gets the text with spoken=true), let the control plane's own commands
 * answer, else one chat.send, then each reply longer than WhatsApp's 4096 characters becomes
 * several ordered outbox rows. The typing indicator stops whatever the outcome.
 */
export function whatsAppTurn(deps: WhatsAppTurnDeps): InboxHandler {
  return async (event, { signal }) => {
    // An event written by hand (no wamid: nothing to mark read or transcribe) goes as it is.
    const payload = event.payload as Partial<WhatsAppMessagePayload>;
    const prepared = deps.preparer && typeof payload.whatsapp?.wamid === "string" ? await deps.preparer.prepare(event) : undefined;
    try {
      const chat = prepared?.chat ?? payload;
      const own = await deps.commands?.answer(event.userId, typeof chat.text === "string" ? chat.text : "");
      const out: NewOutboundMessage[] =
        own !== undefined ? [{ userId: event.userId, channel: "whatsapp", kind: "text", body: own, inboxId: event.id }] : await chatTurn(deps.agent, event, chat, signal);
      return splitOutbound(out);
    } finally {
      prepared?.done();
    }
  };
}
