import type { Attachment, Channel } from "@concierge/protocol";

/**
 * What the inbox holds. Every inbound event (a WhatsApp message, a voice turn, a Zoom event, a
 * heartbeat, an alarm) is one row, unique on (channel, providerId), inserted in the caller's
 * transaction. Implemented by inbox/inbox.ts; channels and the scheduler only use this shape.
 */
export type InboundKind =
  | "message" // chat.send; payload: InboundMessagePayload
  | "voice_turn" // call.turn; jumps the queue
  | "call_ended" // call.turn phase end -> summary to WhatsApp
  | "meeting" // meeting.event
  | "heartbeat" // heartbeat.run
  | "alarm"; // alarm.fire

export interface NewInboundEvent {
  userId: string;
  channel: Channel;
  kind: InboundKind;
  /** Provider's id for dedupe (wamid, CallSid+turn, Zoom event id, schedule key+slot). */
  providerId: string;
  payload: Record<string, unknown>;
  /** Lower runs first within a user; voice turns use VOICE_PRIORITY. */
  priority?: number;
}

/** The payload of a "message" event: what the built-in message handler sends as chat.send. */
export interface InboundMessagePayload {
  text: string;
  /** True when the text was transcribed from speech (a voice note). */
  spoken?: boolean;
  attachments?: Attachment[];
  /** ISO time the user sent it. */
  sentAt?: string;
  senderName?: string;
}

export const DEFAULT_PRIORITY = 100;
export const VOICE_PRIORITY = 0;

export interface InboundEventRow extends Required<NewInboundEvent> {
  id: string;
  /** Attempts so far, this one included. */
  attempts: number;
  createdAt: Date;
}
