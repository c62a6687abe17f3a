import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { metaEscape, signMetaPayload } from "../../control-plane/src/channels/whatsapp/signature";

/**
 * Meta's published webhook sample payloads (Cloud API "messages" field), stored byte for byte as
 * Meta sends them: raw UTF-8. Meta signs them over their escaped form (every character above `~`
 * as `\uXXXX`), and so does `sign`. text-escaped.json is the one body that arrives already
 * escaped, which the router must accept as well.
 */
export type SampleName =
  | "text"
  | "text-raw-utf8"
  | "text-escaped"
  | "audio-voice"
  | "image"
  | "interactive-button-reply"
  | "interactive-list-reply"
  | "location"
  | "reaction"
  | "unsupported"
  | "sticker"
  | "bsuid-text"
  | "status"
  | "status-failed"
  | "system";

export function sample(name: SampleName, replace: Record<string, string> = {}): Buffer {
  let text = readFileSync(path.join(__dirname, `${name}.json`), "utf8").trim();
  for (const [from, to] of Object.entries(replace)) text = text.split(from).join(to);
  return Buffer.from(text, "utf8");
}

/** A statuses webhook for one outbound message. */
export function statusSample(wamid: string, status: "sent" | "delivered" | "read" | "played"): Buffer {
  return sample("status", { __WAMID__: wamid, __STATUS__: status });
}

export function failedStatusSample(wamid: string, code: number, title: string): Buffer {
  return sample("status-failed", { __WAMID__: wamid, __CODE__: String(code), __TITLE__: title });
}

/** JSON as Meta sends it: raw UTF-8 (the signature is over its escaped form: see `sign`). */
export function metaJson(value: unknown): string {
  return JSON.stringify(value);
}

/** JSON with every non-ASCII character already escaped on the wire (an older or proxied delivery). */
export function escapedJson(value: unknown): string {
  return metaEscape(JSON.stringify(value));
}

/** X-Hub-Signature-256 as Meta computes it: over the escaped form of the body. */
export function sign(body: Buffer | string, secret: string): string {
  return signMetaPayload(body, secret);
}

/** An HMAC over the bytes exactly as sent (the other form the router accepts). */
export function signRaw(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** A webhook body around one change value, as Meta wraps it. */
export function webhookOf(value: Record<string, unknown>): Buffer {
  return Buffer.from(metaJson({ object: "whatsapp_business_account", entry: [{ id: "102290129340398", changes: [{ value, field: "messages" }] }] }));
}

/** A text message webhook from a given sender, with a fresh wamid unless one is given. */
export function textWebhook(opts: { waId?: string; bsuid?: string; name?: string; body: string; wamid?: string; timestamp?: number }): Buffer {
  const wamid = opts.wamid ?? `wamid.T${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const contact: Record<string, unknown> = { profile: { name: opts.name ?? "Test User" } };
  if (opts.waId) contact.wa_id = opts.waId;
  if (opts.bsuid) contact.user_id = opts.bsuid;
  const message: Record<string, unknown> = {
    id: wamid,
    timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    text: { body: opts.body },
    type: "text",
  };
  if (opts.waId) message.from = opts.waId;
  if (opts.bsuid) message.from_user_id = opts.bsuid;
  return Buffer.from(
    metaJson({
      object: "whatsapp_business_account",
      entry: [{ id: "102290129340398", changes: [{ value: { messaging_product: "whatsapp", metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" }, contacts: [contact], messages: [message] }, field: "messages" }] }],
    }),
  );
}
