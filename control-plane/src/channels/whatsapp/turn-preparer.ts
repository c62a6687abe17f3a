import type { Clock } from "../../clock";
import type { InboundMessagePayload } from "../../inbox/types";
import type { Logger } from "../../logger";
import type { GraphApiClient } from "./graph-client";
import type { WhatsAppMessagePayload } from "./inbound";
import type { Transcriber } from "./transcriber";
import { startTyping } from "./typing-indicator";

export interface PreparedTurn {
  /** The payload's chat.send fields, the voice note's text filled in. */
  chat: InboundMessagePayload;
  /** Ends the typing indicator; call it in `finally`, whatever the turn's outcome. */
  done(): void;
}

/**
 * Runs at the start of an agent turn for a WhatsApp message (the dispatcher calls it, after the
 * webhook has long answered): shows the user their message was read and the assistant is typing,
 * and turns a voice note into text. A failed transcription throws, so the inbox retries the event.
 */
export class WhatsAppTurnPreparer {
  private readonly log: Logger;
  constructor(
    private readonly opts: { graph: GraphApiClient; transcriber?: Transcriber; clock: Clock; logger: Logger; typingRefreshMs?: number },
  ) {
    this.log = opts.logger.child({ component: "whatsapp-turn" });
  }

  async prepare(event: { userId: string; payload: Record<string, unknown> }): Promise<PreparedTurn> {
    const p = event.payload as unknown as WhatsAppMessagePayload;
    const typing = startTyping(this.opts.graph, p.whatsapp.wamid, { clock: this.opts.clock, logger: this.opts.logger, refreshMs: this.opts.typingRefreshMs });
    try {
      const chat: InboundMessagePayload = {
        text: p.text,
        ...(p.spoken ? { spoken: true } : {}),
        ...(p.attachments?.length ? { attachments: p.attachments } : {}),
        ...(p.sentAt ? { sentAt: p.sentAt } : {}),
        ...(p.senderName ? { senderName: p.senderName } : {}),
      };
      if (p.whatsapp.transcribe) {
        if (!this.opts.transcriber) {
          chat.text = "[The user sent a voice note, but voice notes cannot be transcribed on this server. Ask them to type it.]";
        } else {
          try {
            const media = await this.opts.graph.downloadMedia(p.whatsapp.transcribe.mediaId);
            const text = await this.opts.transcriber.transcribe({ userId: event.userId, audio: media.data, mimeType: p.whatsapp.transcribe.mimeType ?? media.mimeType });
            this.log.debug({ userId: event.userId, chars: text.length }, "voice note transcribed");
            chat.text = text || "[The user sent a voice note with no words in it.]";
            chat.spoken = true;
          } catch (err) {
            // A passing failure is thrown so the inbox tries again; one that will not change (media
            // expired, file refused) becomes a note, so the agent can ask the user to type it.
            if ((err as { retryable?: unknown }).retryable !== false) throw err;
            this.log.warn({ userId: event.userId, err: (err as Error).message }, "voice note could not be transcribed");
            chat.text = "[The user sent a voice note that could not be transcribed. Ask them to type it or send it again.]";
            delete chat.spoken;
          }
        }
      }
      return { chat, done: () => typing.stop() };
    } catch (err) {
      typing.stop();
      throw err;
    }
  }
}
