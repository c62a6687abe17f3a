import { z } from "zod";
import type { Database } from "../../db/database";
import type { Logger } from "../../logger";
import type { NewOutboundMessage } from "../../outbox/types";
import { agentTrust } from "./caller-trust";
import type { CallStore } from "./call-store";
import type { AgentPort } from "../../agent-port";
import type { TurnWaiter } from "./turn-waiter";

/** The part of an inbox row a voice handler reads. */
export interface VoiceInboxEvent {
  id: string;
  userId: string;
  providerId: string;
  payload: Record<string, unknown>;
}

const VoiceTurnPayload = z.object({ callSid: z.string().min(1), turn: z.number().int().positive(), text: z.string() });
const CallEndedPayload = z.object({ callSid: z.string().min(1) });

export interface VoiceHandlerDeps {
  database: Database;
  agent: Pick<AgentPort, "call">;
  store: CallStore;
  waiter: TurnWaiter;
  logger: Logger;
}

/**
 * The dispatcher's handlers for the voice kinds. They run in the user's queue, so a turn never
 * runs beside another event of the same user.
 */
export class VoiceHandlers {
  private readonly log: Logger;

  constructor(private readonly deps: VoiceHandlerDeps) {
    this.log = deps.logger.child({ component: "voice-handlers" });
  }

  /** voice_turn: one spoken turn to the agent (call.turn), its reply stored for the waiting webhook. */
  async voiceTurn(event: VoiceInboxEvent): Promise<{ reply: string; hangUp: boolean }> {
    const { callSid, turn, text } = VoiceTurnPayload.parse(event.payload);
    const { db } = this.deps.database;
    const existing = await this.deps.store.getTurn(db, callSid, turn);
    // The turn row is written in the transaction that enqueued this event, so it is always there;
    // if not, the event outran its own commit and a retry will find it.
    if (!existing) throw new Error(`voice turn ${callSid}#${turn} is not recorded`);
    if (existing.reply != null) return { reply: existing.reply, hangUp: existing.hangUp };
    // Read now, not when the turn was queued: a PIN or a WhatsApp "yes" upgrades the next turn.
    const call = await this.deps.store.getCall(db, callSid);
    const result = await this.deps.agent.call(event.userId, "call.turn", {
      idempotencyKey: event.providerId,
      callSid,
      phase: "turn",
      text,
      trust: agentTrust(call?.trust ?? "limited"),
    });
    await db.transaction((tx) => this.deps.store.recordReply(tx, callSid, turn, result.reply, result.hangUp));
    this.deps.waiter.notify(callSid, turn);
    this.log.debug({ callSid, turn, userId: event.userId }, "voice turn answered");
    return { reply: result.reply, hangUp: result.hangUp };
  }

  /**
   * call_ended: the agent writes a short summary of the transcript (call.turn phase end); it goes to
   * WhatsApp as a proactive message, so the outbox applies the 24-hour window rules. Returns the
   * message for the dispatcher to write in the transaction that completes the inbox row.
   */
  async callEnded(event: VoiceInboxEvent): Promise<NewOutboundMessage[]> {
    const { callSid } = CallEndedPayload.parse(event.payload);
    const call = await this.deps.store.getCall(this.deps.database.db, callSid);
    if (!call || call.transcript.length === 0) return [];
    const result = await this.deps.agent.call(event.userId, "call.turn", {
      idempotencyKey: event.providerId,
      callSid,
      phase: "end",
      text: "",
      transcript: call.transcript,
      trust: agentTrust(call.trust),
    });
    const summary = result.reply.trim();
    if (!summary) return [];
    this.log.info({ callSid, userId: event.userId }, "call summary ready");
    return [
      {
        userId: event.userId,
        channel: "whatsapp",
        kind: "text",
        body: summary,
        proactive: true,
        inboxId: event.id,
        meta: { callSid, reason: "call_summary" },
      },
    ];
  }
}
