import { randomBytes } from "node:crypto";
import type { Router } from "express";
import type { Clock } from "../../clock";
import type { Logger } from "../../logger";
import type { LocalWhatsAppCredentials } from "./local-sink-credentials";
import { createLocalGraphRouter } from "./local-sink-router";
import { signMetaPayload } from "./signature";

/**
 * A local stand-in for Meta on a machine without a WhatsApp Business account: both ends of the
 * conversation a real phone and Meta would hold. As the Graph API (local-sink-router.ts) it accepts
 * and records the business's sends, answering with Meta's response shapes, and reports them back
 * as signed "sent" and "delivered" status webhooks. As the user's phone it posts signed "messages"
 * webhooks in Meta's payload shape to the control plane's own /whatsapp/webhook, and "read"
 * statuses when the chat is looked at. The control plane's WhatsApp channel runs unchanged against
 * it: only its config (the Graph API base and the four secrets) says "local".
 */
export interface SinkMessage {
  wamid: string;
  /** "in": the user wrote to the business; "out": the business sent it through the Graph API. */
  direction: "in" | "out";
  waId: string;
  type: string;
  text: string;
  at: string;
  /** in: received, then read once the business marks it; out: sent, delivered, read. */
  status: "received" | "read" | "sent" | "delivered";
  /** The message this one quotes (context.message_id). */
  replyTo?: string;
}

export interface LocalGraphSinkOptions {
  credentials: LocalWhatsAppCredentials;
  /** The control plane's own webhook, e.g. () => `${url}/whatsapp/webhook` (known once it listens). */
  webhookUrl: () => string;
  clock: Clock;
  logger: Logger;
  /** Oldest messages are forgotten beyond this, per conversation. */
  maxMessagesPerConversation?: number;
  /** Least recently used conversations are forgotten beyond this. */
  maxConversations?: number;
}

/** The webhook was not accepted: the control plane said no (signature, payload) or was unreachable. */
export class LocalWebhookError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "LocalWebhookError";
  }
}

/** WhatsApp shows "typing…" for about 25 seconds or until the reply arrives. */
const TYPING_MS = 25_000;
/** The WhatsApp Business Account id in entry[].id; Meta's is a number too. */
const WABA_ID = "900000000000001";

export function newWamid(): string {
  return `wamid.${randomBytes(30).toString("base64")}`;
}

export class LocalGraphSink {
  private readonly log: Logger;
  private readonly conversations = new Map<string, SinkMessage[]>();
  private readonly typingUntil = new Map<string, number>();
  private readonly names = new Map<string, string>();
  /** Status webhooks still on their way: stop() waits for them. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: LocalGraphSinkOptions) {
    this.log = opts.logger.child({ component: "whatsapp-local-sink" });
  }

  get credentials(): LocalWhatsAppCredentials {
    return this.opts.credentials;
  }

  /** The Graph API routes; main mounts them at /local-graph. */
  router(): Router {
    return createLocalGraphRouter(this);
  }

  /** The user's phone sends a text: a signed "messages" webhook in Meta's shape. Resolves once the control plane stored it. */
  async userSays(input: { waId: string; text: string; name?: string }): Promise<SinkMessage> {
    const now = this.opts.clock.now();
    if (input.name) this.names.set(input.waId, input.name);
    const message: SinkMessage = { wamid: newWamid(), direction: "in", waId: input.waId, type: "text", text: input.text, at: now.toISOString(), status: "received" };
    const value = {
      messaging_product: "whatsapp",
      metadata: this.metadata(),
      contacts: [{ profile: { name: this.names.get(input.waId) ?? `Test ${input.waId.slice(-4)}` }, wa_id: input.waId }],
      messages: [{ from: input.waId, id: message.wamid, timestamp: String(Math.floor(now.getTime() / 1000)), text: { body: input.text }, type: "text" }],
    };
    // Shown before the POST: the business may mark it read (or even answer) before our fetch resolves.
    this.append(message);
    try {
      await this.postWebhook(value);
    } catch (err) {
      const list = this.conversations.get(input.waId);
      list?.splice(list.indexOf(message), 1);
      throw err;
    }
    return message;
  }

  /** What the user's phone shows: both directions, oldest first, and whether "typing…" is on. */
  conversation(waId: string): { messages: SinkMessage[]; typing: boolean } {
    const messages = this.conversations.get(waId) ?? [];
    return { messages: messages.map((m) => ({ ...m })), typing: (this.typingUntil.get(waId) ?? 0) > this.opts.clock.now().getTime() };
  }

  /** Forgets everything the sink holds for this number (the user was deleted): chat, name, typing. */
  forgetUser(waId: string): void {
    this.conversations.delete(waId);
    this.typingUntil.delete(waId);
    this.names.delete(waId);
  }

  /** The user opened the chat: "read" statuses for every reply not yet read. Returns how many. */
  async openChat(waId: string): Promise<number> {
    // Only what reached the phone: a read receipt never overtakes "delivered".
    const unread = (this.conversations.get(waId) ?? []).filter((m) => m.direction === "out" && m.status === "delivered");
    for (const m of unread) {
      m.status = "read";
      await this.postStatus(m, "read").catch((err) => {
        m.status = "delivered"; // the next look tries again
        throw err;
      });
    }
    return unread.length;
  }

  /** Called by the router for each accepted send. */
  recordSend(input: { waId: string; type: string; text: string; replyTo?: string }): SinkMessage {
    const message: SinkMessage = { wamid: newWamid(), direction: "out", ...input, at: this.opts.clock.now().toISOString(), status: "sent" };
    this.append(message);
    this.typingUntil.delete(input.waId);
    return message;
  }

  /**
   * After Meta answers a send, it reports "sent" and then "delivered" by webhook; the sink does
   * the same once its HTTP answer is out, so the control plane sees them in Meta's order.
   */
  reportDelivery(message: SinkMessage): void {
    const run = (async () => {
      await this.postStatus(message, "sent");
      // The phone has it before anyone is told so, as at Meta.
      if (message.status === "sent") message.status = "delivered";
      await this.postStatus(message, "delivered");
    })().catch((err) => this.log.warn({ err: (err as Error).message, wamid: message.wamid }, "could not report delivery to the webhook"));
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /** The business marked an inbound message read, perhaps with the typing indicator. */
  recordRead(wamid: string, typing: boolean): boolean {
    for (const [waId, messages] of this.conversations) {
      const m = messages.find((x) => x.wamid === wamid && x.direction === "in");
      if (!m) continue;
      m.status = "read";
      if (typing) this.typingUntil.set(waId, this.opts.clock.now().getTime() + TYPING_MS);
      return true;
    }
    return false;
  }

  /** Waits for status webhooks already on their way (call before the HTTP server closes). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private metadata() {
    return { display_phone_number: this.opts.credentials.displayPhoneNumber, phone_number_id: this.opts.credentials.phoneNumberId };
  }

  private async postStatus(message: SinkMessage, status: "sent" | "delivered" | "read"): Promise<void> {
    const timestamp = String(Math.floor(this.opts.clock.now().getTime() / 1000));
    await this.postWebhook({
      messaging_product: "whatsapp",
      metadata: this.metadata(),
      statuses: [
        {
          id: message.wamid,
          status,
          timestamp,
          recipient_id: message.waId,
          ...(status === "read" ? {} : { pricing: { billable: true, pricing_model: "PMP", category: "service", type: "free_customer_service" } }),
        },
      ],
    });
  }

  private async postWebhook(value: Record<string, unknown>): Promise<void> {
    // As Meta sends it: raw UTF-8 on the wire, signed over the escaped form (signMetaPayload).
    const body = JSON.stringify({ object: "whatsapp_business_account", entry: [{ id: WABA_ID, changes: [{ value, field: "messages" }] }] });
    let res: Response;
    try {
      res = await fetch(this.opts.webhookUrl(), {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signMetaPayload(body, this.opts.credentials.appSecret) },
        body,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new LocalWebhookError(`the webhook could not be reached: ${(err as Error).message}`, 502);
    }
    if (!res.ok) {
      const detail = await res.text().catch(() => "");
      throw new LocalWebhookError(`the webhook answered ${res.status}: ${detail.slice(0, 300)}`, res.status);
    }
  }

  private append(message: SinkMessage): void {
    const max = this.opts.maxMessagesPerConversation ?? 500;
    const list = this.conversations.get(message.waId) ?? [];
    // Re-inserting keeps the Map in least-recently-used order for eviction.
    this.conversations.delete(message.waId);
    list.push(message);
    if (list.length > max) list.splice(0, list.length - max);
    this.conversations.set(message.waId, list);
    const maxConversations = this.opts.maxConversations ?? 1000;
    while (this.conversations.size > maxConversations) {
      const oldest = this.conversations.keys().next().value as string;
      this.conversations.delete(oldest);
      this.typingUntil.delete(oldest);
    }
  }
}
