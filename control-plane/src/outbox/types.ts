import type { Channel } from "@concierge/protocol";

/**
 * A message to send to a user on a channel. Outbox rows are written in the same transaction that
 * completes the inbox row; the sender drains them per user in order and hands each to the
 * channel's adapter.
 */
export interface NewOutboundMessage {
  userId: string;
  channel: Channel;
  /** text: body; template: a WhatsApp template (name, language, parameters). */
  kind: "text" | "template";
  body: string;
  /** True when the assistant speaks first (heartbeat, alarm, summary): window and spam rules apply. */
  proactive?: boolean;
  /** The inbox event this answers, if any. */
  inboxId?: string;
  meta?: Record<string, unknown>;
}

export interface OutboundRow extends NewOutboundMessage {
  id: string;
  attempts: number;
  /** The messages table row that tracks its delivery status. */
  messageId: string | null;
}

/** Thrown by an adapter: retryable errors are retried with backoff, others fail the row at once. */
export class SendError extends Error {
  constructor(
    message: string,
    public readonly retryable: boolean,
    public readonly code?: string,
    /** Milliseconds the provider asked us to wait (Retry-After). */
    public readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "SendError";
  }
}

/** The recipient as the claim read them, in the statement that leased the row. */
export interface OutboundUser {
  id: string;
  waId: string | null;
  bsuid: string | null;
  phone: string | null;
  /** When the user last wrote (WhatsApp's 24-hour window). */
  lastInboundAt: Date | null;
  /** The provider said this user cannot receive messages. */
  undeliverable: boolean;
}

export interface ChannelAdapter {
  channel: Channel;
  /** Sends one message; returns the provider's id for it. Throws SendError. */
  send(row: OutboundRow, user: OutboundUser): Promise<{ providerId: string }>;
  /**
   * Told once the outbox has recorded an accepted send and its messages row carries the provider's
   * id (the statement right after `send` returned): what the provider says about that id from now
   * on finds the row. Not told when another messages row already had the id.
   */
  recorded?(providerId: string): Promise<void>;
}
