import { sql } from "drizzle-orm";
import { describeEachDriver } from "../../test-support/db";
import { sample, sign, textWebhook, webhookOf } from "../../test-support/meta-samples";
import { metaEscape } from "../src/channels/whatsapp";
import { APP_SECRET, counts, useEmptiedWhatsAppWorld, type WhatsAppWorld } from "./whatsapp-harness";

/**
 * Meta sends raw UTF-8 but signs the body's escaped form (every UTF-16 code unit above `~` as a
 * lowercase \uXXXX). These are the messages most users outside the US send; each must be stored,
 * and no rewriting of a signed body may slip through.
 */
const SENDER = "4915123456789";

const MESSAGES: [string, string][] = [
  ["Meta's documented example", "äöå"],
  ["German", "Können wir das Meeting auf übermorgen verschieben? Grüße, Jürgen"],
  ["Hindi", "कल सुबह 9 बजे डॉक्टर की याद दिलाना"],
  ["Arabic", "ذكرني بموعد الطبيب غدا الساعة التاسعة"],
  ["emoji (surrogate pairs)", "Pizza tonight? 🍕🍝 👨‍👩‍👧 ✅"],
];

async function storedText(w: WhatsAppWorld, wamid: string): Promise<string | undefined> {
  const [row] = await w.q<{ payload: any }>(sql`SELECT payload FROM inbox_events WHERE provider_id = ${wamid}`);
  if (!row) return undefined;
  return (typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload).text;
}

describe("Meta's escaped form", () => {
  it("escapes äöå as Meta documents it, and emoji as their surrogate pairs, in lowercase hex", () => {
    expect(metaEscape("äöå")).toBe("\\u00e4\\u00f6\\u00e5");
    expect(metaEscape("🍝")).toBe("\\ud83c\\udf5d");
    expect(metaEscape("\u007f")).toBe("\\u007f");
  });

  it("leaves every ASCII character as it is, escapes included", () => {
    const ascii = Array.from({ length: 0x7f }, (_, i) => String.fromCharCode(i)).join("");
    expect(metaEscape(ascii)).toBe(ascii);
    expect(metaEscape('{"a":"\\/\\u0000\\""}')).toBe('{"a":"\\/\\u0000\\""}');
  });
});

describeEachDriver("WhatsApp webhook signatures over Meta's escaped form", (driver) => {
  const world = useEmptiedWhatsAppWorld(driver);

  it.each(MESSAGES)("accepts a %s message sent raw and signed escaped, stored verbatim", async (_name, text) => {
    const body = textWebhook({ waId: SENDER, body: text, wamid: "wamid.INTL1" });
    expect(body.toString("utf8")).toContain(text);
    const res = await world().post(body);
    expect(res.status).toBe(200);
    expect(await storedText(world(), "wamid.INTL1")).toBe(text);
  });

  it.each(MESSAGES)("refuses a %s message with one byte changed, and accepts it unchanged", async (_name, text) => {
    const body = textWebhook({ waId: SENDER, body: text, wamid: "wamid.INTL2" });
    const signature = sign(body, APP_SECRET);
    // One byte inside the first non-ASCII character, and one ASCII byte of the text.
    const inChar = Buffer.from(body);
    const at = inChar.findIndex((b) => b >= 0x80);
    inChar[at + 1] = inChar[at + 1]! ^ 0x01;
    const inAscii = Buffer.from(body);
    inAscii[inAscii.indexOf("wamid.INTL2") + 10] = "3".charCodeAt(0);
    for (const changed of [inChar, inAscii]) expect((await world().post(changed, { "x-hub-signature-256": signature })).status).toBe(403);
    expect(await counts(world())).toEqual({ users: 0, messages: 0, inbox: 0, outbox: 0 });
    expect((await world().post(body, { "x-hub-signature-256": signature })).status).toBe(200);
  });

  it("accepts a signed body with `/` and refuses it with the same slash sent as `\\/`", async () => {
    const body = textWebhook({ waId: SENDER, body: "Café 17/18 Uhr? https://example.org/a", wamid: "wamid.SLASH" });
    const signature = sign(body, APP_SECRET);
    const slashed = Buffer.from(body.toString("utf8").split("/").join("\\/"));
    expect(JSON.parse(slashed.toString("utf8"))).toEqual(JSON.parse(body.toString("utf8")));
    expect((await world().post(slashed, { "x-hub-signature-256": signature })).status).toBe(403);
    expect(await counts(world())).toMatchObject({ inbox: 0 });
    expect((await world().post(body, { "x-hub-signature-256": signature })).status).toBe(200);
    expect(await storedText(world(), "wamid.SLASH")).toBe("Café 17/18 Uhr? https://example.org/a");
  });

  it("accepts a signed body with `\\u0000` and refuses it with the escape changed or an ASCII letter escaped", async () => {
    const body = textWebhook({ waId: SENDER, body: "Grüße\u0000a", wamid: "wamid.NUL" });
    expect(body.toString("utf8")).toContain("\\u0000");
    const signature = sign(body, APP_SECRET);
    const text = body.toString("utf8");
    const variants = [
      text.replace("\\u0000", "\u0000"), // the escape written as the raw byte it stands for
      text.replace("\\u0000", "\\u0001"),
      text.replace("\\u0000a", "\\u0000\\u0061"), // an ASCII letter hidden behind an escape
    ];
    for (const v of variants) expect((await world().post(Buffer.from(v), { "x-hub-signature-256": signature })).status).toBe(403);
    expect(await counts(world())).toMatchObject({ inbox: 0, messages: 0 });
    expect((await world().post(body, { "x-hub-signature-256": signature })).status).toBe(200);
    // PostgreSQL text cannot hold U+0000: the router drops it instead of failing (and Meta retrying).
    expect(await storedText(world(), "wamid.NUL")).toBe("Grüßea");
  });

  it("refuses bytes that are not UTF-8 in place of a signed character", async () => {
    // U+FFFD is what a decoder makes of a bad byte: the escaped form must not equate the two.
    const body = textWebhook({ waId: SENDER, body: "ok \ufffd", wamid: "wamid.FFFD" });
    const signature = sign(body, APP_SECRET);
    const bad = Buffer.concat([body.subarray(0, body.indexOf("\ufffd")), Buffer.from([0xff]), body.subarray(body.indexOf("\ufffd") + 3)]);
    expect((await world().post(bad, { "x-hub-signature-256": signature })).status).toBe(403);
    expect((await world().post(body, { "x-hub-signature-256": signature })).status).toBe(200);
  });

  it("answers 200 to a real-shaped sample and stores it (Meta's own sample, escaped signature)", async () => {
    expect((await world().post(sample("image"))).status).toBe(200);
    expect(await storedText(world(), "wamid.IMAGE0000000000000000000000000000000001")).toBe("Receipt from the naïve café");
  });

  describe("fidelity", () => {
    const metadata = (phoneNumberId: string) => ({ display_phone_number: "15550783881", phone_number_id: phoneNumberId });
    const change = (phoneNumberId: string, wamid: string, text: string) => ({
      messaging_product: "whatsapp",
      metadata: metadata(phoneNumberId),
      contacts: [{ profile: { name: "Other" }, wa_id: SENDER }],
      messages: [{ from: SENDER, id: wamid, timestamp: "1739321024", text: { body: text }, type: "text" }],
    });

    it("acknowledges and ignores a message for another phone number", async () => {
      const res = await world().post(webhookOf(change("999999999999999", "wamid.OTHER", "für eine andere Nummer")));
      expect(res.status).toBe(200);
      expect(await counts(world())).toEqual({ users: 0, messages: 0, inbox: 0, outbox: 0 });
    });

    it("routes only the change for our number when one body carries two numbers", async () => {
      const body = Buffer.from(
        JSON.stringify({
          object: "whatsapp_business_account",
          entry: [
            { id: "1", changes: [{ field: "messages", value: change("999999999999999", "wamid.THEIRS", "not ours") }] },
            { id: "2", changes: [{ field: "messages", value: change("106540352242922", "wamid.OURS", "ours ✓") }] },
          ],
        }),
      );
      expect((await world().post(body)).status).toBe(200);
      expect(await storedText(world(), "wamid.OURS")).toBe("ours ✓");
      expect(await world().q(sql`SELECT 1 FROM messages WHERE provider_id = 'wamid.THEIRS'`)).toHaveLength(0);
    });

    it("ignores a delivery status reported for another phone number", async () => {
      const [user] = await world().q<{ id: string }>(sql`INSERT INTO users (wa_id, phone) VALUES (${SENDER}, ${SENDER}) RETURNING id`);
      await world().q(sql`INSERT INTO messages (user_id, direction, channel, provider_id, content, status) VALUES (${user!.id}, 'out', 'whatsapp', 'wamid.SENT', 'hi', 'sent')`);
      const status = { messaging_product: "whatsapp", metadata: metadata("999999999999999"), statuses: [{ id: "wamid.SENT", status: "read", timestamp: "1739321999", recipient_id: SENDER }] };
      expect((await world().post(webhookOf(status))).status).toBe(200);
      const [msg] = await world().q<{ status: string }>(sql`SELECT status FROM messages WHERE provider_id = 'wamid.SENT'`);
      expect(msg!.status).toBe("sent");
    });

    it("shows a reaction only what the reacting user's own conversation held", async () => {
      const [other] = await world().q<{ id: string }>(sql`INSERT INTO users (wa_id, phone) VALUES ('447700900123', '447700900123') RETURNING id`);
      await world().q(sql`INSERT INTO messages (user_id, direction, channel, provider_id, content, status)
                    VALUES (${other!.id}, 'out', 'whatsapp', 'wamid.SOMEONE-ELSES', 'Your test results are ready', 'read')`);
      expect((await world().post(sample("reaction", { "wamid.REACTED-TO-PLACEHOLDER": "wamid.SOMEONE-ELSES" }))).status).toBe(200);
      const text = await storedText(world(), "wamid.REACTION00000000000000000000000000000001");
      expect(text).toBe("[reacted 👍 to a message]");
    });
  });
});
