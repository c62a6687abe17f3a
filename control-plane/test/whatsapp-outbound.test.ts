import { sql } from "drizzle-orm";
import { describeEachDriver } from "../../test-support/db";
import { FAILURES } from "../../test-support/fake-graph-api";
import { failedStatusSample, statusSample, textWebhook } from "../../test-support/meta-samples";
import { splitOutbound } from "../src/channels/whatsapp";
import { WhatsAppAdapter } from "../src/channels/whatsapp/adapter";
import { HELD_MESSAGE } from "../src/channels/whatsapp/held-messages";
import type { GraphApiClient } from "../src/channels/whatsapp/graph-client";
import { createLogger } from "../src/logger";
import type { NewOutboundMessage } from "../src/outbox/types";
import { Outbox } from "../src/outbox/outbox";
import { startWhatsAppWorld, waitFor, type WhatsAppWorld } from "./whatsapp-harness";

const HOUR = 60 * 60 * 1000;

async function newUser(w: WhatsAppWorld, waId: string, lastInboundAgoMs: number | null): Promise<string> {
  const at = lastInboundAgoMs === null ? null : new Date(w.clock.now().getTime() - lastInboundAgoMs).toISOString();
  const [u] = await w.q<{ id: string }>(sql`INSERT INTO users (wa_id, phone, last_inbound_at) VALUES (${waId}, ${waId}, ${at}::timestamptz) RETURNING id`);
  return u!.id;
}

async function send(w: WhatsAppWorld, messages: NewOutboundMessage[]): Promise<string[]> {
  return w.t.database.db.transaction((tx) => w.outbox.enqueue(tx, messages));
}

async function messageRow(w: WhatsAppWorld, outboxId: string): Promise<any> {
  const [r] = await w.q<any>(sql`SELECT m.* FROM messages m JOIN outbox o ON o.message_id = m.id WHERE o.id = ${outboxId}`);
  return r;
}

async function settled(w: WhatsAppWorld, outboxId: string): Promise<any> {
  return waitFor(async () => {
    const [o] = await w.q<any>(sql`SELECT status FROM outbox WHERE id = ${outboxId}`);
    return o && (o.status === "sent" || o.status === "failed") ? messageRow(w, outboxId) : undefined;
  }, 8000, `outbox row ${outboxId} to settle`);
}

/** A new user inside their window and one text sent to them, settled: its outbox id, messages row and wamid. */
async function sentReply(w: WhatsAppWorld, waId: string, body: string): Promise<{ userId: string; id: string; row: any; wamid: string }> {
  const userId = await newUser(w, waId, HOUR);
  const [id] = await send(w, [{ userId, channel: "whatsapp", kind: "text", body }]);
  const row = await settled(w, id!);
  return { userId, id: id!, row, wamid: row.provider_id as string };
}

describeEachDriver("WhatsApp outbound", (driver) => {
  describe("replies", () => {
    let w: WhatsAppWorld;
    beforeAll(async () => {
      w = await startWhatsAppWorld(driver, { startOutbox: true });
    });
    afterAll(() => w?.stop());
    beforeEach(() => w.fake.reset());

    it("delivers a 9,000-character reply as three messages, in order", async () => {
      const userId = await newUser(w, "15550000001", HOUR);
      const sentence = "Here is one more useful sentence for you to read. ";
      const body = sentence.repeat(Math.ceil(9000 / sentence.length)).slice(0, 9000);
      const ids = await send(w, splitOutbound([{ userId, channel: "whatsapp", kind: "text", body }]));
      expect(ids).toHaveLength(3);
      await settled(w, ids[2]!);
      const texts = w.fake.sentMessages().map((m) => m.text.body as string);
      expect(texts).toHaveLength(3);
      expect(texts.every((t) => t.length <= 4096)).toBe(true);
      expect(texts.join(" ").replace(/\s+/g, " ").trim()).toBe(body.replace(/\s+/g, " ").trim());
      const rows = await Promise.all(ids.map((id) => messageRow(w, id)));
      expect(rows.map((r) => r.status)).toEqual(["sent", "sent", "sent"]);
    });

    it("sends once after a 429, and records the wamid", async () => {
      w.fake.failNext(FAILURES.http429);
      const { row } = await sentReply(w, "15550000002", "after the rate limit");
      expect(w.fake.sendAttempts()).toHaveLength(2);
      expect(w.fake.sentMessages()).toHaveLength(1);
      expect(row).toMatchObject({ status: "sent", provider_id: expect.stringMatching(/^wamid\.FAKE/) });
    });

    it("does not retry a 400 and records Meta's error code", async () => {
      w.fake.failNext(FAILURES.badRequest);
      const { row } = await sentReply(w, "15550000003", "bad");
      expect(w.fake.sendAttempts()).toHaveLength(1);
      expect(row).toMatchObject({ status: "failed", error_code: "100" });
    });

    it("marks the user undeliverable on 131026 and sends them nothing more", async () => {
      const userId = await newUser(w, "15550000004", HOUR);
      w.fake.failNext(FAILURES.undeliverable);
      const [a, b] = await send(w, [
        { userId, channel: "whatsapp", kind: "text", body: "one" },
        { userId, channel: "whatsapp", kind: "text", body: "two" },
      ]);
      expect(await settled(w, a!)).toMatchObject({ status: "failed", error_code: "131026" });
      expect(await settled(w, b!)).toMatchObject({ status: "failed", error_code: "131026" });
      expect(w.fake.sendAttempts()).toHaveLength(1);
      const [u] = await w.q<any>(sql`SELECT undeliverable FROM users WHERE id = ${userId}`);
      expect(u.undeliverable).toBe(true);
    });

    it("sends a proactive message as text inside the 24-hour window", async () => {
      const userId = await newUser(w, "15550000005", 23 * HOUR);
      const [id] = await send(w, [{ userId, channel: "whatsapp", kind: "text", body: "Your reminder", proactive: true }]);
      expect(await settled(w, id!)).toMatchObject({ status: "sent" });
      expect(w.fake.sentMessages()[0]).toMatchObject({ type: "text", text: { body: "Your reminder" } });
    });

    it("holds a proactive message outside the window and sends it when the user writes", async () => {
      const userId = await newUser(w, "15550000006", 25 * HOUR);
      const [id] = await send(w, [{ userId, channel: "whatsapp", kind: "text", body: "Your 9 am reminder", proactive: true }]);
      const held = await settled(w, id!);
      expect(held.status === "held" || (held.status === "failed" && held.error_code === "held")).toBe(true);
      expect(held.held).toBe(true); // the generated column the held-messages index covers
      expect(w.fake.sendAttempts()).toHaveLength(0);

      expect((await w.post(textWebhook({ waId: "15550000006", body: "morning!" }))).status).toBe(200);
      await waitFor(async () => w.fake.sentMessages().length === 1, 8000, "the held message");
      expect(w.fake.sentMessages()[0]).toMatchObject({ to: "15550000006", type: "text", text: { body: "Your 9 am reminder" } });
      expect(await messageRow(w, id!)).toMatchObject({ status: "failed", error_code: "released", held: false });
      // Released once: another message from the user sends nothing more.
      await w.post(textWebhook({ waId: "15550000006", body: "still there?" }));
      await new Promise((r) => setTimeout(r, 200));
      expect(w.fake.sentMessages()).toHaveLength(1);
    });

    it("moves a message forward whatever order its statuses arrive in", async () => {
      const { id, wamid } = await sentReply(w, "15550000007", "track me");
      for (const s of ["read", "sent", "delivered"] as const) expect((await w.post(statusSample(wamid, s))).status).toBe(200);
      expect((await messageRow(w, id!)).status).toBe("read");
      await w.post(failedStatusSample(wamid, 131000, "Something went wrong"));
      expect((await messageRow(w, id!)).status).toBe("read");
      await w.post(statusSample(wamid, "played"));
      expect((await messageRow(w, id!)).status).toBe("played");
    });

    it("records a failure's code and title, and a later delivered beats it", async () => {
      const { id, wamid } = await sentReply(w, "15550000008", "flaky");
      await w.post(failedStatusSample(wamid, 131000, "Something went wrong"));
      expect(await messageRow(w, id!)).toMatchObject({ status: "failed", error_code: "131000", error_message: "Something went wrong: Message failed to send." });
      await w.post(statusSample(wamid, "delivered"));
      expect((await messageRow(w, id!)).status).toBe("delivered");
    });

    it("applies a status that overtook the send once the wamid is known", async () => {
      const userId = await newUser(w, "15550000009", HOUR);
      // Meta's "delivered" arrives before the messages row knows its wamid.
      await w.statuses.apply([{ wamid: "wamid.EARLY", status: "delivered" }]);
      const [id] = await send(w, [{ userId, channel: "whatsapp", kind: "text", body: "early bird" }]);
      const row = await settled(w, id!);
      await w.t.database.db.execute(sql`UPDATE messages SET provider_id = 'wamid.EARLY', status = 'sent' WHERE id = ${row.id}`);
      await w.statuses.replay("wamid.EARLY");
      expect((await messageRow(w, id!)).status).toBe("delivered");
    });

    it("holds a reply Meta refused with 131047 and sends it when the user writes again", async () => {
      const { id, wamid } = await sentReply(w, "15550000010", "the answer you asked for");
      await w.post(failedStatusSample(wamid, 131047, "Re-engagement message"));
      expect(await messageRow(w, id!)).toMatchObject({ status: "held", held: true });
      w.fake.reset();
      await w.post(textWebhook({ waId: "15550000010", body: "hello?" }));
      await waitFor(async () => w.fake.sentMessages().length === 1, 8000, "the re-sent message");
      expect(w.fake.sentMessages()[0].text.body).toBe("the answer you asked for");
      expect(await messageRow(w, id!)).toMatchObject({ status: "failed", error_code: "released", held: false });
    });

    it("finds a user's held messages without reading their history", async () => {
      // Every inbound message checks its user for held replies (the webhook's one statement, and
      // the release). Before the held column and its partial index, that check read every message
      // the user ever exchanged: here 3,000 rows, on every message they send.
      const userId = await newUser(w, "15550000020", 25 * HOUR);
      await w.q(sql`INSERT INTO messages (user_id, direction, channel, content, status, created_at)
                    SELECT ${userId}, CASE WHEN i % 2 = 0 THEN 'in' ELSE 'out' END, 'whatsapp', 'old ' || i,
                           CASE WHEN i % 2 = 0 THEN 'received' ELSE 'read' END, now() - make_interval(mins => i)
                    FROM generate_series(1, 3000) AS i`);
      const [id] = await send(w, [{ userId, channel: "whatsapp", kind: "text", body: "held one", proactive: true }]);
      expect((await settled(w, id!)).held).toBe(true);
      await w.q(sql`ANALYZE messages`);
      const [plan] = await w.q<any>(sql`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM messages WHERE user_id = ${userId} AND ${HELD_MESSAGE}`);
      const root = (typeof plan["QUERY PLAN"] === "string" ? JSON.parse(plan["QUERY PLAN"]) : plan["QUERY PLAN"])[0];
      const nodes: any[] = [];
      const walk = (n: any) => (nodes.push(n), (n.Plans ?? []).forEach(walk));
      walk(root.Plan);
      expect(root.Plan["Actual Rows"]).toBe(1);
      expect(nodes.some((n) => n["Index Name"] === "messages_held_idx")).toBe(true);
      // A few index and heap pages, not the ~60 pages the user's 3,000 rows fill.
      expect(root.Plan["Shared Hit Blocks"] + root.Plan["Shared Read Blocks"]).toBeLessThan(10);
    });

    it("marks the user undeliverable when a 131026 arrives as a status", async () => {
      const { userId, id, wamid } = await sentReply(w, "15550000011", "hello");
      await w.post(failedStatusSample(wamid, 131026, "Message undeliverable"));
      const [u] = await w.q<any>(sql`SELECT undeliverable FROM users WHERE id = ${userId}`);
      expect(u.undeliverable).toBe(true);
    });
  });

  describe("with a template for outside the window", () => {
    let w: WhatsAppWorld;
    beforeAll(async () => {
      w = await startWhatsAppWorld(driver, { startOutbox: true, outsideWindow: "template", template: { name: "assistant_update", language: "en_US" } });
    });
    afterAll(() => w?.stop());

    it("turns a proactive message outside the window into the template", async () => {
      const userId = await newUser(w, "15550000020", 30 * HOUR);
      const [id] = await send(w, [{ userId, channel: "whatsapp", kind: "text", body: "Don't forget:\nthe dentist at 3 pm", proactive: true }]);
      expect(await settled(w, id!)).toMatchObject({ status: "sent" });
      expect(w.fake.sentMessages()).toEqual([
        expect.objectContaining({
          type: "template",
          template: { name: "assistant_update", language: { code: "en_US" }, components: [{ type: "body", parameters: [{ type: "text", text: "Don't forget: the dentist at 3 pm" }] }] },
        }),
      ]);
    });

    it("sends the template for a never-seen user too", async () => {
      const userId = await newUser(w, "15550000021", null);
      const [id] = await send(w, [{ userId, channel: "whatsapp", kind: "text", body: "Welcome", proactive: true }]);
      expect(await settled(w, id!)).toMatchObject({ status: "sent" });
      expect(w.fake.sentMessages().at(-1)).toMatchObject({ type: "template" });
    });
  });

  describe("the wamid and the status, recorded the moment Meta accepts a send", () => {
    let w: WhatsAppWorld;
    beforeAll(async () => {
      w = await startWhatsAppWorld(driver);
    });
    afterAll(() => w?.stop());

    it("are written together, for sends that finish together, skipping a wamid another row has, and replay a status that overtook the send", async () => {
      // Another message already carries the wamid Meta will (oddly) give the third send.
      const other = await newUser(w, "15550001000", HOUR);
      await w.q(sql`INSERT INTO messages (user_id, direction, channel, provider_id, content, status) VALUES (${other}, 'out', 'whatsapp', 'wamid.TAKEN', 'older', 'sent')`);
      // Meta's "delivered" for the first send arrives before our bookkeeping knows its wamid.
      await w.statuses.apply([{ wamid: "wamid.ACCEPTED.0", status: "delivered" }]);
      // Meta answers all five at the same moment: their records run side by side.
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let atMeta = 0;
      const graph = {
        sendText: async (_to: unknown, body: string) => {
          atMeta++;
          await gate;
          return { wamid: body === "reply 2" ? "wamid.TAKEN" : `wamid.ACCEPTED.${body.slice(-1)}` };
        },
      } as unknown as GraphApiClient;
      const told: string[] = [];
      const logger = createLogger({ level: "silent" });
      const adapter = new WhatsAppAdapter({
        graph,
        db: w.t.database.db,
        clock: w.clock,
        logger,
        outsideWindow: "hold",
        onSent: async (wamid) => {
          await w.statuses.replay(wamid);
          told.push(wamid);
        },
      });
      const outbox = new Outbox({ database: w.t.database, logger, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 }, pollIntervalMs: 25 });
      outbox.registerAdapter(adapter);
      await outbox.start();
      try {
        const ids = await Promise.all(
          [0, 1, 2, 3, 4].map(async (i) => {
            const userId = await newUser(w, `1555000100${i + 1}`, HOUR);
            const [id] = await send(w, [{ userId, channel: "whatsapp" as const, kind: "text" as const, body: `reply ${i}` }]);
            return id!;
          }),
        );
        await waitFor(async () => atMeta === 5, 8000, "five sends waiting at Meta");
        // Nothing is written before Meta answers.
        const before = await w.q<{ provider_id: string | null; status: string }>(sql`SELECT m.provider_id, m.status FROM messages m JOIN outbox o ON o.message_id = m.id WHERE o.id = ANY(string_to_array(${ids.join(",")}, ','))`);
        expect(before.map((r) => [r.provider_id, r.status])).toEqual(ids.map(() => [null, "queued"]));
        open();
        await Promise.all(ids.map((id) => settled(w, id)));
        // The hook runs once the record has committed: wait for the four it is told of.
        await waitFor(async () => told.length === 4, 8000, "the recorded hook for four sends");
        const written = await Promise.all(ids.map((id) => messageRow(w, id)));
        const sentRows = await w.q<{ id: string; status: string; provider_id: string }>(sql`SELECT id, status, provider_id FROM outbox WHERE id = ANY(string_to_array(${ids.join(",")}, ','))`);
        const byId = new Map(sentRows.map((r) => [r.id, r]));
        expect(ids.map((id) => [byId.get(id)?.status, byId.get(id)?.provider_id])).toEqual([
          ["sent", "wamid.ACCEPTED.0"],
          ["sent", "wamid.ACCEPTED.1"],
          ["sent", "wamid.TAKEN"],
          ["sent", "wamid.ACCEPTED.3"],
          ["sent", "wamid.ACCEPTED.4"],
        ]);
        // The messages rows carry the wamid and the status together; the one whose wamid another
        // row has is left alone, and the status that arrived early is applied once the row knows it.
        expect(written.map((r) => [r.provider_id ?? null, r.status])).toEqual([
          ["wamid.ACCEPTED.0", "delivered"],
          ["wamid.ACCEPTED.1", "sent"],
          [null, "queued"],
          ["wamid.ACCEPTED.3", "sent"],
          ["wamid.ACCEPTED.4", "sent"],
        ]);
        expect(told.sort()).toEqual(["wamid.ACCEPTED.0", "wamid.ACCEPTED.1", "wamid.ACCEPTED.3", "wamid.ACCEPTED.4"]);
      } finally {
        await outbox.stop();
      }
    });
  });
});
