import { z } from "zod";
import type { Attachment } from "@concierge/protocol";

/**
 * The Cloud API webhook body, as zod schemas that accept what Meta documents and pass through
 * whatever it adds later (every object is passthrough; only the fields we use are typed).
 * Shape: {object:"whatsapp_business_account", entry:[{id, changes:[{field:"messages", value}]}]}.
 */
const MediaObject = z.object({ id: z.string(), mime_type: z.string().optional(), sha256: z.string().optional(), caption: z.string().optional(), voice: z.boolean().optional() }).passthrough();

const MetaError = z
  .object({ code: z.coerce.number().optional(), title: z.string().optional(), message: z.string().optional(), error_data: z.object({ details: z.string().optional() }).passthrough().optional() })
  .passthrough();

const InboundMessage = z
  .object({
    id: z.string().min(1),
    /** The sender's wa_id; absent for a user who hides their number behind a username. */
    from: z.string().optional(),
    /** The sender's business-scoped user id (BSUID), rolled out by Meta from 2026. */
    from_user_id: z.string().optional(),
    timestamp: z.coerce.number().optional(),
    type: z.string(),
    text: z.object({ body: z.string() }).passthrough().optional(),
    audio: MediaObject.optional(),
    image: MediaObject.optional(),
    interactive: z
      .object({
        type: z.string(),
        button_reply: z.object({ id: z.string(), title: z.string() }).passthrough().optional(),
        list_reply: z.object({ id: z.string(), title: z.string(), description: z.string().optional() }).passthrough().optional(),
      })
      .passthrough()
      .optional(),
    /** A tap on a template's quick-reply button. */
    button: z.object({ text: z.string(), payload: z.string().optional() }).passthrough().optional(),
    location: z
      .object({ latitude: z.coerce.number(), longitude: z.coerce.number(), name: z.string().optional(), address: z.string().optional(), url: z.string().optional() })
      .passthrough()
      .optional(),
    reaction: z.object({ message_id: z.string(), emoji: z.string().optional() }).passthrough().optional(),
    errors: z.array(MetaError).optional(),
  })
  .passthrough();

const Contact = z
  .object({
    wa_id: z.string().optional(),
    user_id: z.string().optional(),
    profile: z.object({ name: z.string().optional(), username: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

const Status = z
  .object({
    id: z.string().min(1),
    status: z.string(),
    timestamp: z.coerce.number().optional(),
    recipient_id: z.string().optional(),
    recipient_user_id: z.string().optional(),
    errors: z.array(MetaError).optional(),
  })
  .passthrough();

const ChangeValue = z
  .object({
    messaging_product: z.string().optional(),
    metadata: z.object({ phone_number_id: z.string().optional(), display_phone_number: z.string().optional() }).passthrough().optional(),
    contacts: z.array(Contact).optional(),
    messages: z.array(InboundMessage).optional(),
    statuses: z.array(Status).optional(),
  })
  .passthrough();

const WebhookBody = z
  .object({
    object: z.string(),
    entry: z.array(z.object({ id: z.string().optional(), changes: z.array(z.object({ field: z.string().optional(), value: ChangeValue }).passthrough()).default([]) }).passthrough()).default([]),
  })
  .passthrough();
type WebhookBody = z.infer<typeof WebhookBody>;

/** The message types the assistant understands; anything else is stored and politely declined. */
export type KnownType = "text" | "audio" | "image" | "interactive" | "button" | "location" | "reaction";

export interface ParsedMessage {
  wamid: string;
  waId?: string;
  bsuid?: string;
  name?: string;
  /** The phone number id it was sent to (our number). */
  phoneNumberId?: string;
  sentAt?: Date;
  type: string;
  known: boolean;
  /** Stored only: WhatsApp system notices, not words from the user. */
  silent?: boolean;
  /** What the agent reads; for a voice note, empty until transcribed. */
  text: string;
  /** A short line for the messages table and the operator's view. */
  summary: string;
  attachments: Attachment[];
  /** Set for a voice note or audio file: the media to transcribe. */
  audio?: { mediaId: string; mimeType?: string; voice: boolean };
  reaction?: { messageId: string; emoji?: string };
}

export interface ParsedStatus {
  wamid: string;
  /** The phone number id the status is about (our number). */
  phoneNumberId?: string;
  status: string;
  at?: Date;
  waId?: string;
  bsuid?: string;
  error?: { code?: number; title?: string; details?: string };
}

export interface ParsedWebhook {
  messages: ParsedMessage[];
  statuses: ParsedStatus[];
}

const seconds = (s?: number) => (s !== undefined && Number.isFinite(s) ? new Date(s * 1000) : undefined);

/** Types that are stored but neither answered nor handed to the agent. */
const SILENT_TYPES = new Set(["system", "request_welcome"]);

function describe(m: z.infer<typeof InboundMessage>): Pick<ParsedMessage, "text" | "summary" | "attachments" | "known" | "silent" | "audio" | "reaction"> {
  switch (m.type) {
    case "text":
      if (m.text) return { known: true, text: m.text.body, summary: m.text.body, attachments: [] };
      break;
    case "audio":
      if (m.audio) {
        const voice = m.audio.voice ?? true;
        return {
          known: true,
          text: "",
          summary: voice ? "[voice note]" : "[audio]",
          attachments: [{ kind: "audio", ref: m.audio.id, mimeType: m.audio.mime_type }],
          audio: { mediaId: m.audio.id, mimeType: m.audio.mime_type, voice },
        };
      }
      break;
    case "image":
      if (m.image) {
        const caption = m.image.caption ?? "";
        return {
          known: true,
          text: caption,
          summary: caption ? `[image] ${caption}` : "[image]",
          attachments: [{ kind: "image", ref: m.image.id, mimeType: m.image.mime_type, ...(caption ? { caption } : {}) }],
        };
      }
      break;
    case "interactive": {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (reply) return { known: true, text: reply.title, summary: reply.title, attachments: [] };
      break;
    }
    case "button":
      if (m.button) return { known: true, text: m.button.text, summary: m.button.text, attachments: [] };
      break;
    case "location":
      if (m.location) {
        const l = m.location;
        const label = [l.name, l.address].filter(Boolean).join(", ");
        return {
          known: true,
          text: `[shared a location${label ? `: ${label}` : ""} (${l.latitude}, ${l.longitude})]`,
          summary: `[location] ${label || `${l.latitude}, ${l.longitude}`}`,
          attachments: [{ kind: "location", latitude: l.latitude, longitude: l.longitude, ...(l.name || l.address ? { name: label } : {}) }],
        };
      }
      break;
    case "reaction":
      if (m.reaction) {
        const emoji = m.reaction.emoji ?? "";
        return {
          known: true,
          text: emoji ? `[reacted ${emoji} to a message]` : "[removed a reaction]",
          summary: emoji ? `[reaction] ${emoji}` : "[reaction removed]",
          attachments: [],
          reaction: { messageId: m.reaction.message_id, emoji: emoji || undefined },
        };
      }
      break;
  }
  if (SILENT_TYPES.has(m.type)) {
    // Not something the user said: a number or id change, or WhatsApp's "chat opened" ping.
    return { known: true, silent: true, text: "", summary: `[${m.type}]`, attachments: [] };
  }
  const why = m.errors?.[0]?.title ? ` (${m.errors[0].title})` : "";
  return { known: false, text: "", summary: `[unsupported: ${m.type}${why}]`, attachments: [] };
}

/** Validates a webhook body (tolerant of fields Meta adds) and flattens it; undefined if it is not one. */
export function parseWebhookBody(json: unknown): ParsedWebhook | undefined {
  const parsed = WebhookBody.safeParse(json);
  return parsed.success ? flattenWebhook(parsed.data) : undefined;
}

/** Flattens a validated body into messages and statuses, in the order Meta listed them. */
function flattenWebhook(body: WebhookBody): ParsedWebhook {
  const out: ParsedWebhook = { messages: [], statuses: [] };
  if (body.object !== "whatsapp_business_account") return out;
  for (const entry of body.entry) {
    for (const change of entry.changes) {
      if (change.field !== undefined && change.field !== "messages") continue;
      const v = change.value;
      const contacts = v.contacts ?? [];
      for (const m of v.messages ?? []) {
        // Match the sender's contact by BSUID or wa_id; with a single contact it is the sender.
        const contact =
          contacts.find((c) => (m.from_user_id && c.user_id === m.from_user_id) || (m.from && c.wa_id === m.from)) ??
          (contacts.length === 1 ? contacts[0] : undefined);
        const waId = m.from ?? contact?.wa_id;
        const bsuid = m.from_user_id ?? contact?.user_id;
        out.messages.push({
          wamid: m.id,
          waId: waId || undefined,
          bsuid: bsuid || undefined,
          name: contact?.profile?.name || undefined,
          phoneNumberId: v.metadata?.phone_number_id,
          sentAt: seconds(m.timestamp),
          type: m.type,
          ...describe(m),
        });
      }
      for (const s of v.statuses ?? []) {
        const e = s.errors?.[0];
        out.statuses.push({
          wamid: s.id,
          phoneNumberId: v.metadata?.phone_number_id,
          status: s.status,
          at: seconds(s.timestamp),
          waId: s.recipient_id || undefined,
          bsuid: s.recipient_user_id || undefined,
          error: e ? { code: e.code, title: e.title ?? e.message, details: e.error_data?.details } : undefined,
        });
      }
    }
  }
  return out;
}

/**
 * Keeps the events addressed to our phone number. A Business Account can hold several numbers and
 * an app can be subscribed to several accounts: Meta then sends every number's events to the same
 * webhook, and another number's customers must never reach our users' agents.
 */
export function forPhoneNumber(events: ParsedWebhook, phoneNumberId: string): { kept: ParsedWebhook; foreign: string[] } {
  const foreign = new Set<string>();
  const ours = (e: { phoneNumberId?: string }) => {
    if (e.phoneNumberId === phoneNumberId) return true;
    foreign.add(e.phoneNumberId ?? "(none)");
    return false;
  };
  return { kept: { messages: events.messages.filter(ours), statuses: events.statuses.filter(ours) }, foreign: [...foreign] };
}
