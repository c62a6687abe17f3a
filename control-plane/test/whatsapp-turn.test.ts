import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { describeEachDriver, createTestDatabase, type TestDatabase } from "../../test-support/db";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { FakeLlmUpstream } from "../../test-support/fake-llm-upstream";
import { ManualClock } from "../src/clock";
import { rows } from "../src/db/database";
import { createApp } from "../src/http/app";
import { createLogger } from "../src/logger";
import { createLlmGateway } from "../src/llm-gateway/llm-gateway";
import { hashToken } from "../src/sandboxes/token";
import type { InboundEventRow } from "../src/inbox/types";
import { GraphApiClient, OpenAICompatibleTranscriber, TranscriptionError, WhatsAppTurnPreparer, whatsAppTurn, type WhatsAppMessagePayload } from "../src/channels/whatsapp";
import { ACCESS_TOKEN, PHONE_ID } from "./whatsapp-harness";

const SANDBOX_TOKEN = "sbx_whatsapp_turn_test_token";

function event(userId: string, payload: WhatsAppMessagePayload): InboundEventRow {
  return { id: "evt-1", userId, channel: "whatsapp", kind: "message", providerId: payload.whatsapp.wamid, payload: payload as any, priority: 100, attempts: 1, createdAt: new Date() } as InboundEventRow;
}

describeEachDriver("WhatsApp turn preparation", (driver) => {
  let t: TestDatabase;
  let upstream: FakeLlmUpstream;
  let graphApi: FakeGraphApi;
  let server: Server;
  let clock: ManualClock;
  let preparer: WhatsAppTurnPreparer;
  let userId: string;

  beforeAll(async () => {
    t = await createTestDatabase(driver);
    const logger = createLogger({ level: "silent" });
    clock = new ManualClock(new Date());
    upstream = await FakeLlmUpstream.start();
    graphApi = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
    // The control plane's own LLM gateway, in front of a local OpenAI-compatible provider.
    const gateway = createLlmGateway({
      db: t.database.db,
      llm: { baseUrl: upstream.url, apiKey: "sk-upstream", model: "test/chat-model", heartbeatModel: "test/chat-model", allowedModels: ["test/chat-model"] },
      policy: { monthlyBudgetUsd: 10, priceInputPerMTok: 0, priceOutputPerMTok: 0, rateLimitPerMinute: 60, timeoutMs: 10_000, maxOutputTokens: 4096 },
      logger,
      metrics: new Registry(),
    });
    server = createServer(createApp({ logger, metrics: new Registry(), isReady: async () => true, routers: [{ path: "/llm/v1", router: gateway.router }] }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/llm/v1`;

    const [u] = await rows<{ id: string }>(t.database.db, sql`INSERT INTO users (wa_id, phone) VALUES ('16505551234', '16505551234') RETURNING id`);
    userId = u!.id;
    await t.database.db.execute(sql`INSERT INTO sandboxes (user_id, state, token_hash) VALUES (${userId}, 'running', ${hashToken(SANDBOX_TOKEN)})`);

    const graph = new GraphApiClient({ baseUrl: graphApi.baseUrl, phoneNumberId: PHONE_ID, accessToken: ACCESS_TOKEN, logger, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    const transcriber = new OpenAICompatibleTranscriber({ baseUrl: gatewayUrl, tokenFor: async (id) => (id === userId ? SANDBOX_TOKEN : undefined), logger });
    preparer = new WhatsAppTurnPreparer({ graph, transcriber, clock, logger });
    graphApi.media.set("1003383421387256", { data: Buffer.from("OggS\u0000fake-opus-frames"), mimeType: "audio/ogg" });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await upstream?.close();
    await graphApi?.stop();
    await t?.cleanup();
  });
  beforeEach(() => graphApi.reset());

  const voice: WhatsAppMessagePayload = {
    text: "",
    spoken: true,
    attachments: [{ kind: "audio", ref: "1003383421387256", mimeType: "audio/ogg; codecs=opus" }],
    sentAt: "2026-01-01T09:00:00.000Z",
    senderName: "Sheena",
    whatsapp: { wamid: "wamid.VOICE1", type: "audio", transcribe: { mediaId: "1003383421387256", mimeType: "audio/ogg; codecs=opus" } },
  };

  it("transcribes a voice note through the LLM gateway, metered to the user, and marks it spoken", async () => {
    upstream.enqueue({ kind: "json", body: { text: " Remind me to call Mum at six. ", usage: { type: "duration", seconds: 4 } } });
    const turn = await preparer.prepare(event(userId, voice));
    turn.done();
    expect(turn.chat).toMatchObject({ text: "Remind me to call Mum at six.", spoken: true, senderName: "Sheena", sentAt: "2026-01-01T09:00:00.000Z" });
    const req = upstream.requests.at(-1)!;
    expect(req.path).toBe("/v1/audio/transcriptions");
    expect(req.headers.authorization).toBe("Bearer sk-upstream"); // the provider key, never the sandbox token
    expect(String(req.headers["content-type"])).toMatch(/^multipart\/form-data; boundary=/);
    const form = req.body.toString("latin1");
    expect(form).toContain('filename="voice-note.ogg"');
    expect(form).toContain("fake-opus-frames");
    expect(form).toMatch(/name="model"\r\n\r\nwhisper-1/);
    const usage = await rows<{ user_id: string; endpoint: string }>(t.database.db, sql`SELECT user_id, endpoint FROM llm_usage`);
    expect(usage).toContainEqual(expect.objectContaining({ user_id: userId, endpoint: "audio.transcriptions" }));
    // The media was fetched with the bearer token from the URL the lookup returned.
    expect(graphApi.calls.map((c) => c.path)).toEqual(expect.arrayContaining(["/v22.0/1003383421387256", "/media-download/1003383421387256"]));
  });

  it("shows typing while the agent works, renews it every 20 s, and stops when the turn ends", async () => {
    upstream.enqueue({ kind: "json", body: { text: "hello" } });
    const turn = await preparer.prepare(event(userId, voice));
    const receipts = () => graphApi.readReceipts().length;
    await new Promise((r) => setTimeout(r, 50));
    expect(graphApi.readReceipts()[0]).toEqual({ messaging_product: "whatsapp", status: "read", message_id: "wamid.VOICE1", typing_indicator: { type: "text" } });
    const first = receipts();
    clock.advance(20_000);
    clock.advance(20_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(receipts()).toBe(first + 2);
    turn.done();
    clock.advance(120_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(receipts()).toBe(first + 2);
  });

  it("stops typing and throws when transcription fails, so the inbox retries the event", async () => {
    // The buffered upload is retried like a chat call (UPSTREAM_RETRY: 3 attempts); every one fails.
    const boom = { kind: "json" as const, status: 500, body: { error: { message: "boom", type: "server_error", code: null } } };
    upstream.enqueue(boom, boom, boom);
    const err = await preparer.prepare(event(userId, voice)).catch((e) => e);
    expect(err).toBeInstanceOf(TranscriptionError);
    expect(err.retryable).toBe(true);
    const before = graphApi.readReceipts().length;
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(graphApi.readReceipts().length).toBe(before);
  });

  it("tells the agent when a voice note cannot be transcribed for good (no retry loop)", async () => {
    upstream.enqueue({ kind: "json", status: 400, body: { error: { message: "Invalid file format.", type: "invalid_request_error", code: null } } });
    const turn = await preparer.prepare(event(userId, voice));
    turn.done();
    expect(turn.chat.text).toMatch(/could not be transcribed/);
    expect(turn.chat.spoken).toBeUndefined();
  });

  it("hands the agent the transcript and splits its long reply, through the wrapped handler", async () => {
    upstream.enqueue({ kind: "json", body: { text: "Tell me everything." } });
    const seen: unknown[] = [];
    // The agent's side of chat.send: what it was handed, and a reply over WhatsApp's limit.
    const agent = {
      call: (async (_userId: string, _method: string, params: unknown) => {
        seen.push(params);
        return { reply: "All of it. ".repeat(1000), llmCalls: 0 };
      }) as never,
    };
    const handler = whatsAppTurn({ agent, preparer });
    const out = (await handler(event(userId, voice), { signal: new AbortController().signal, log: createLogger({ level: "silent" }) }))!;
    expect(seen).toEqual([expect.objectContaining({ text: "Tell me everything.", spoken: true })]);
    expect(out.length).toBe(3);
    expect(out.every((m) => m.body.length <= 4096)).toBe(true);
    const before = graphApi.readReceipts().length;
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(graphApi.readReceipts().length).toBe(before); // typing stopped after the turn
  });

  it("passes a text or image message through unchanged apart from typing", async () => {
    const image: WhatsAppMessagePayload = {
      text: "Receipt",
      attachments: [{ kind: "image", ref: "1479537139650973", mimeType: "image/jpeg", caption: "Receipt" }],
      whatsapp: { wamid: "wamid.IMG1", type: "image" },
    };
    const turn = await preparer.prepare(event(userId, image));
    turn.done();
    expect(turn.chat).toEqual({ text: "Receipt", attachments: image.attachments });
  });

  it("marks a text message read and shows typing in one Graph request, not two", async () => {
    const text: WhatsAppMessagePayload = { text: "Hi", whatsapp: { wamid: "wamid.TXT1", type: "text" } };
    const turn = await preparer.prepare(event(userId, text));
    await new Promise((r) => setTimeout(r, 50));
    turn.done();
    // Filtered by wamid: an earlier test's last request may still be landing.
    expect(graphApi.calls.filter((c) => c.body?.message_id === "wamid.TXT1").map((c) => [c.method, c.path, c.body])).toEqual([
      ["POST", `/v22.0/${PHONE_ID}/messages`, { messaging_product: "whatsapp", status: "read", message_id: "wamid.TXT1", typing_indicator: { type: "text" } }],
    ]);
  });
});
