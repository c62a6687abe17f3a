import { sql } from "drizzle-orm";
import { describeEachDriver } from "../../test-support/db";
import { escapedJson, metaJson, sample, sign, signRaw, textWebhook, webhookOf, type SampleName } from "../../test-support/meta-samples";
import { UNSUPPORTED_REPLY, metaEscape } from "../src/channels/whatsapp";
import { APP_SECRET, VERIFY_TOKEN, counts, startWhatsAppWorld, type WhatsAppWorld } from "./whatsapp-harness";

const SENDER = "16505551234";

async function inboxPayload(w: WhatsAppWorld, wamid: string): Promise<any> {
  const [row] = await w.q<{ payload: any; kind: string; channel: string }>(sql`SELECT payload, kind, channel FROM inbox_events WHERE provider_id = ${wamid}`);
  expect(row).toMatchObject({ kind: "message", channel: "whatsapp" });
  return typeof row!.payload === "string" ? JSON.parse(row!.payload) : row!.payload;
}

describeEachDriver("WhatsApp webhook", (driver) => {
  let w: WhatsAppWorld;
  beforeAll(async () => {
    w = await startWhatsAppWorld(driver);
  });
  afterAll(() => w?.stop());
  beforeEach(async () => {
    await w.q(sql`TRUNCATE users, messages, inbox_events, outbox CASCADE`);
  });

  describe("verification handshake", () => {
    it("answers hub.challenge when the verify token matches", async () => {
      const res = await fetch(`${w.url}/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("1158201444");
    });

    it("refuses a wrong verify token or mode with 403", async () => {
      expect((await fetch(`${w.url}/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`)).status).toBe(403);
      expect((await fetch(`${w.url}/whatsapp/webhook?hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`)).status).toBe(403);
      expect((await fetch(`${w.url}/whatsapp/webhook?hub.mode=subscribe&hub.challenge=1`)).status).toBe(403);
    });
  });

  describe("Meta's sample payloads", () => {
    it("stores a raw UTF-8 text with accents and emoji signed over its escaped form, creates the user and opens the window", async () => {
      const body = sample("text");
      expect(body.toString("utf8")).toContain("😀"); // raw on the wire, as Meta sends it
      expect(sign(body, APP_SECRET)).not.toBe(signRaw(body, APP_SECRET)); // signed as Meta signs it
      const res = await w.post(body);
      expect(res.status).toBe(200);
      const wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
      const payload = await inboxPayload(w, wamid);
      expect(payload.text).toBe("Olá! Can you remind me about the café at 5? 😀☕");
      expect(payload.senderName).toBe("João Café");
      expect(payload.sentAt).toBe(new Date(1739321024 * 1000).toISOString());
      const [user] = await w.q<any>(sql`SELECT * FROM users`);
      expect(user).toMatchObject({ wa_id: SENDER, phone: SENDER, name: "João Café", bsuid: null });
      expect(new Date(user.last_inbound_at).getTime()).toBe(1739321024 * 1000);
      const [msg] = await w.q<any>(sql`SELECT * FROM messages`);
      expect(msg).toMatchObject({ direction: "in", channel: "whatsapp", provider_id: wamid, status: "received", user_id: user.id });
    });

    it("accepts a German text with raw UTF-8 on the wire", async () => {
      expect((await w.post(sample("text-raw-utf8"))).status).toBe(200);
      expect((await inboxPayload(w, "wamid.RAWUTF8000000000000000000000000000001")).text).toBe("Grüße aus Köln 🌧️ — übermorgen?");
    });

    it("accepts a body that arrives already \\u-escaped", async () => {
      const body = sample("text-escaped");
      expect(body.toString("utf8")).toContain("\\ud83d\\ude00");
      expect((await w.post(body)).status).toBe(200);
      expect((await inboxPayload(w, "wamid.ESCAPED00000000000000000000000000000001")).text).toBe("Olá! Can you remind me about the café at 5? 😀☕");
    });

    it("accepts a body signed over its raw bytes as well", async () => {
      const body = textWebhook({ waId: SENDER, body: "Tschüss", wamid: "wamid.RAWSIGNED" });
      expect((await w.post(body, { "x-hub-signature-256": signRaw(body, APP_SECRET) })).status).toBe(200);
      expect((await inboxPayload(w, "wamid.RAWSIGNED")).text).toBe("Tschüss");
    });

    it("passes a voice note on for transcription, marked spoken", async () => {
      expect((await w.post(sample("audio-voice"))).status).toBe(200);
      const p = await inboxPayload(w, "wamid.VOICE0000000000000000000000000000000001");
      expect(p).toMatchObject({ text: "", spoken: true, whatsapp: { type: "audio", transcribe: { mediaId: "1003383421387256", mimeType: "audio/ogg; codecs=opus" } } });
    });

    it("passes an image's caption and media reference as an attachment", async () => {
      expect((await w.post(sample("image"))).status).toBe(200);
      const p = await inboxPayload(w, "wamid.IMAGE0000000000000000000000000000000001");
      expect(p.text).toBe("Receipt from the naïve café");
      expect(p.attachments).toEqual([{ kind: "image", ref: "1479537139650973", mimeType: "image/jpeg", caption: "Receipt from the naïve café" }]);
    });

    it.each([
      ["interactive-button-reply", "wamid.BUTTON000000000000000000000000000000001", "Yes, book it"],
      ["interactive-list-reply", "wamid.LIST0000000000000000000000000000000001", "Tomorrow 3 pm"],
    ] as [SampleName, string, string][])("reads a %s as the chosen title", async (name, wamid, text) => {
      expect((await w.post(sample(name))).status).toBe(200);
      expect((await inboxPayload(w, wamid)).text).toBe(text);
    });

    it("passes a location with its coordinates", async () => {
      expect((await w.post(sample("location"))).status).toBe(200);
      const p = await inboxPayload(w, "wamid.LOCATION00000000000000000000000000000001");
      expect(p.attachments).toEqual([{ kind: "location", latitude: 37.483307, longitude: -122.148981, name: "Philz Coffee, 1 Hacker Way, Menlo Park, CA 94025" }]);
      expect(p.text).toContain("Philz Coffee");
    });

    it("shows the agent what a reaction was to", async () => {
      const user = await w.q<{ id: string }>(sql`INSERT INTO users (wa_id, phone) VALUES (${SENDER}, ${SENDER}) RETURNING id`);
      await w.q(sql`INSERT INTO messages (user_id, direction, channel, provider_id, content, status)
                    VALUES (${user[0]!.id}, 'out', 'whatsapp', 'wamid.ASKED', 'Shall I book the dentist for 3 pm?', 'read')`);
      expect((await w.post(sample("reaction", { "wamid.REACTED-TO-PLACEHOLDER": "wamid.ASKED" }))).status).toBe(200);
      const p = await inboxPayload(w, "wamid.REACTION00000000000000000000000000000001");
      expect(p.text).toBe('[reacted 👍 to: "Shall I book the dentist for 3 pm?"]');
    });

    it.each([
      ["unsupported", "wamid.UNSUPPORTED0000000000000000000000000001"],
      ["sticker", "wamid.STICKER00000000000000000000000000000001"],
    ] as [SampleName, string][])("stores an %s message and answers it without an agent turn", async (name, wamid) => {
      expect((await w.post(sample(name))).status).toBe(200);
      const [msg] = await w.q<any>(sql`SELECT content FROM messages WHERE provider_id = ${wamid}`);
      expect(msg.content).toMatch(/^\[unsupported: /);
      expect(await w.q(sql`SELECT 1 FROM inbox_events`)).toHaveLength(0);
      const out = await w.q<any>(sql`SELECT body, channel FROM outbox`);
      expect(out).toEqual([{ body: UNSUPPORTED_REPLY, channel: "whatsapp" }]);
    });

    it("stores a system notice without answering it or opening the window", async () => {
      expect((await w.post(sample("system"))).status).toBe(200);
      const [msg] = await w.q<any>(sql`SELECT content FROM messages WHERE provider_id = 'wamid.SYSTEM000000000000000000000000000000001'`);
      expect(msg.content).toBe("[system]");
      expect(await counts(w)).toMatchObject({ inbox: 0, outbox: 0 });
      const [user] = await w.q<any>(sql`SELECT last_inbound_at FROM users`);
      expect(user.last_inbound_at).toBeNull();
    });

    it("keys a username-only sender by business-scoped user id", async () => {
      expect((await w.post(sample("bsuid-text"))).status).toBe(200);
      const [user] = await w.q<any>(sql`SELECT * FROM users`);
      expect(user).toMatchObject({ bsuid: "US.13491208655302741918", wa_id: null, name: "Ana" });
      expect((await inboxPayload(w, "wamid.BSUID00000000000000000000000000000000001")).text).toBe("Hi, it's Ana (no number shown)");
    });

    it("links a BSUID to the user already known by wa_id", async () => {
      await w.post(textWebhook({ waId: SENDER, body: "first" }));
      await w.post(textWebhook({ waId: SENDER, bsuid: "US.777", body: "second" }));
      await w.post(textWebhook({ bsuid: "US.777", body: "third, number hidden" }));
      const users = await w.q<any>(sql`SELECT wa_id, bsuid FROM users`);
      expect(users).toEqual([{ wa_id: SENDER, bsuid: "US.777" }]);
      expect(await w.q(sql`SELECT 1 FROM inbox_events`)).toHaveLength(3);
    });
  });

  describe("rejections leave no trace", () => {
    const body = () => textWebhook({ waId: SENDER, body: "Hola, ¿qué tal? 🙂" });
    afterEach(async () => {
      expect(await counts(w)).toEqual({ users: 0, messages: 0, inbox: 0, outbox: 0 });
    });

    it("answers 403 to a body signed with another secret", async () => {
      const b = body();
      expect((await w.post(b, { "x-hub-signature-256": sign(b, "someone-else") })).status).toBe(403);
    });

    it("answers 401 when the signature header is missing", async () => {
      const res = await fetch(`${w.url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json" }, body: body() });
      expect(res.status).toBe(401);
    });

    it("answers 403 to a malformed signature header", async () => {
      expect((await w.post(body(), { "x-hub-signature-256": "sha1=abc" })).status).toBe(403);
    });

    it("answers 403 when a body signed over its raw bytes was escaped on the way", async () => {
      const b = body();
      const reencoded = Buffer.from(metaEscape(b.toString("utf8")));
      expect(reencoded.equals(b)).toBe(false);
      expect((await w.post(reencoded, { "x-hub-signature-256": signRaw(b, APP_SECRET) })).status).toBe(403);
    });

    it("answers 403 to escapes in upper case: Meta signs lowercase hex digits only", async () => {
      const b = body();
      const upper = Buffer.from(metaEscape(b.toString("utf8")).replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`));
      expect(upper.equals(b)).toBe(false);
      expect((await w.post(upper, { "x-hub-signature-256": sign(b, APP_SECRET) })).status).toBe(403);
    });

    it("answers 403 to a truncated body signed in full, and 400 to one signed as truncated", async () => {
      const b = body();
      const cut = b.subarray(0, b.length - 20);
      expect((await w.post(cut, { "x-hub-signature-256": sign(b, APP_SECRET) })).status).toBe(403);
      expect((await w.post(cut)).status).toBe(400);
    });

    it("answers 400 to signed malformed JSON and to JSON that is not a webhook", async () => {
      expect((await w.post("{not json")).status).toBe(400);
      expect((await w.post(metaJson({ hello: "world" }))).status).toBe(400);
    });

    it("answers 413 to a body over 1 MB", async () => {
      const huge = metaJson({ object: "whatsapp_business_account", entry: [], padding: "x".repeat(1024 * 1024 + 10) });
      expect((await w.post(huge)).status).toBe(413);
    });
  });

  describe("deduplication", () => {
    it("stores one inbox row when Meta delivers the same wamid again", async () => {
      const b = textWebhook({ waId: SENDER, body: "again", wamid: "wamid.DUP1" });
      for (let i = 0; i < 3; i++) expect((await w.post(b)).status).toBe(200);
      expect(await counts(w)).toEqual({ users: 1, messages: 1, inbox: 1, outbox: 0 });
    });

    it("creates one user and one row each under concurrent deliveries", async () => {
      const bodies = Array.from({ length: 6 }, (_, i) => textWebhook({ waId: "4477000000" , body: `m${i % 3}`, wamid: `wamid.CONC${i % 3}` }));
      const statuses = await Promise.all(bodies.map((b) => w.post(b).then((r) => r.status)));
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(await counts(w)).toEqual({ users: 1, messages: 3, inbox: 3, outbox: 0 });
    });
  });

  it("ignores webhook fields other than messages but answers 200", async () => {
    const b = metaJson({ object: "whatsapp_business_account", entry: [{ id: "1", changes: [{ field: "account_update", value: { event: "VERIFIED_ACCOUNT" } }] }] });
    expect((await w.post(b)).status).toBe(200);
    expect(await counts(w)).toEqual({ users: 0, messages: 0, inbox: 0, outbox: 0 });
  });
});

describe("WhatsApp webhook when WhatsApp is not configured", () => {
  let w: WhatsAppWorld;
  beforeAll(async () => {
    w = await startWhatsAppWorld("pglite", { configured: false });
  });
  afterAll(() => w?.stop());

  it("answers 503 and says what to set", async () => {
    const res = await w.post(textWebhook({ waId: SENDER, body: "hi" }));
    expect(res.status).toBe(503);
    expect((await res.json() as any).error.code).toBe("whatsapp_not_configured");
    expect((await fetch(`${w.url}/whatsapp/webhook?hub.mode=subscribe`)).status).toBe(503);
  });
});
