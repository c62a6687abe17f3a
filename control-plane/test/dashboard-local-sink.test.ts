import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import express from "express";
import { sign, signRaw } from "../../test-support/meta-samples";
import { waitFor } from "../../test-support/wait-for";
import { systemClock } from "../src/clock";
import { createLogger } from "../src/logger";
import { GraphApiClient, GraphAuthError, GraphRequestError, verifyMetaSignature } from "../src/channels/whatsapp";
import { parseWebhookBody, type ParsedWebhook } from "../src/channels/whatsapp/payload";
import { LocalGraphSink, LocalWebhookError } from "../src/channels/whatsapp/local-sink";
import { resolveLocalWhatsAppCredentials, type LocalWhatsAppCredentials } from "../src/channels/whatsapp/local-sink-credentials";
import { useTempDir } from "../../test-support/temp-dir";

const logger = createLogger({ level: "silent" });
const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server?: Server) => new Promise<void>((resolve) => (server ? (server.closeAllConnections(), server.close(() => resolve())) : resolve()));

/**
 * The local sink against the real GraphApiClient on one side and, on the other, a webhook receiver
 * that checks what Meta's receivers check: the X-Hub-Signature-256 over the raw bytes, and a body
 * the channel's own parser accepts.
 */
describe("the local Graph API sink", () => {
  let credentials: LocalWhatsAppCredentials;
  let sink: LocalGraphSink;
  let graphServer: Server;
  let hookServer: Server;
  let graph: GraphApiClient;
  let graphBase = "";
  const received: { raw: Buffer; verdict: string; signature?: string; parsed?: ParsedWebhook }[] = [];
  let refuseWebhooks = false;

  beforeAll(async () => {
    credentials = (await resolveLocalWhatsAppCredentials({ dataDir: ":memory:" })).credentials;
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks);
        const verdict = verifyMetaSignature(raw, req.headers["x-hub-signature-256"] as string | undefined, credentials.appSecret);
        received.push({ raw, verdict, signature: req.headers["x-hub-signature-256"] as string | undefined, parsed: parseWebhookBody(JSON.parse(raw.toString("utf8"))) });
        res.writeHead(refuseWebhooks ? 403 : 200, { "content-type": "application/json" }).end(refuseWebhooks ? '{"error":{"code":"bad_signature"}}' : '{"ok":true}');
      });
    });
    const hookUrl = await listen(hookServer);
    sink = new LocalGraphSink({ credentials, webhookUrl: () => `${hookUrl}/whatsapp/webhook`, clock: systemClock, logger });
    graphServer = createServer(express().use("/local-graph", sink.router()));
    graphBase = `${await listen(graphServer)}/local-graph/v22.0`;
    // The lazy base, as main.ts passes it (the port is known only after listen).
    graph = new GraphApiClient({ baseUrl: () => graphBase, phoneNumberId: credentials.phoneNumberId, accessToken: credentials.accessToken, logger, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
  });
  afterAll(async () => {
    await sink?.drain();
    await close(graphServer);
    await close(hookServer);
  });

  it("posts the user's text as a Cloud API webhook, signed over Meta-escaped bytes, that the channel's parser reads", async () => {
    const sent = await sink.userSays({ waId: "15550100101", text: "Olá, café at 5? ☕", name: "João" });
    const hook = received.at(-1)!;
    expect(hook.verdict).toBe("valid");
    // As Meta sends it: raw UTF-8 on the wire, signed over the \uXXXX-escaped form only.
    expect(hook.raw.toString("utf8")).toContain("Olá");
    expect(hook.signature).toBe(sign(hook.raw, credentials.appSecret));
    expect(hook.signature).not.toBe(signRaw(hook.raw, credentials.appSecret));
    expect(hook.parsed!.messages).toEqual([
      expect.objectContaining({ wamid: sent.wamid, waId: "15550100101", name: "João", type: "text", text: "Olá, café at 5? ☕", phoneNumberId: credentials.phoneNumberId }),
    ]);
    expect(sink.conversation("15550100101").messages).toMatchObject([{ direction: "in", text: "Olá, café at 5? ☕", status: "received" }]);
  });

  it("accepts the real Graph client's send, answers with a wamid, then reports sent and delivered by signed webhook", async () => {
    const before = received.length;
    const { wamid } = await graph.sendText({ waId: "15550100101" }, "Hello from the business", { replyTo: "wamid.X" });
    expect(wamid).toMatch(/^wamid\./);
    const statuses = await waitFor(() => {
      const s = received.slice(before).flatMap((r) => (r.verdict === "valid" ? r.parsed!.statuses : []));
      return s.length >= 2 && s;
    }, 5000, "two status webhooks");
    expect(statuses.map((s) => [s.wamid, s.status, s.waId])).toEqual([
      [wamid, "sent", "15550100101"],
      [wamid, "delivered", "15550100101"],
    ]);
    const out = sink.conversation("15550100101").messages.find((m) => m.wamid === wamid)!;
    expect(out).toMatchObject({ direction: "out", text: "Hello from the business", replyTo: "wamid.X", status: "delivered" });

    // The user opens the chat: one "read" receipt, and none again for the same message.
    expect(await sink.openChat("15550100101")).toBe(1);
    expect(received.at(-1)!.parsed!.statuses).toMatchObject([{ wamid, status: "read" }]);
    expect(await sink.openChat("15550100101")).toBe(0);
  });

  it("shows the business's read mark and typing indicator on the user's message", async () => {
    const m = await sink.userSays({ waId: "15550100102", text: "are you there?" });
    await graph.markRead(m.wamid, { typing: true });
    const view = sink.conversation("15550100102");
    expect(view.typing).toBe(true);
    expect(view.messages[0]).toMatchObject({ wamid: m.wamid, status: "read" });
    await graph.sendText({ waId: "15550100102" }, "yes");
    expect(sink.conversation("15550100102").typing).toBe(false);
  });

  it("refuses what Meta refuses: a wrong token, another phone number id, text over 4096 characters", async () => {
    const wrong = new GraphApiClient({ baseUrl: graphBase, phoneNumberId: credentials.phoneNumberId, accessToken: "not-the-token", logger, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(wrong.sendText({ waId: "15550100101" }, "hi")).rejects.toBeInstanceOf(GraphAuthError);
    const otherNumber = new GraphApiClient({ baseUrl: graphBase, phoneNumberId: "123456789012345", accessToken: credentials.accessToken, logger, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    await expect(otherNumber.sendText({ waId: "15550100101" }, "hi")).rejects.toBeInstanceOf(GraphRequestError);
    const res = await fetch(`${graphBase}/${credentials.phoneNumberId}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${credentials.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify({ messaging_product: "whatsapp", to: "15550100101", type: "text", text: { body: "x".repeat(4097) } }),
    });
    expect(res.status).toBe(400);
    expect((await res.json() as any).error).toMatchObject({ code: 100, fbtrace_id: expect.any(String) });
  });

  it("fails userSays with a typed error, and keeps nothing, when the webhook refuses it", async () => {
    refuseWebhooks = true;
    try {
      await expect(sink.userSays({ waId: "15550100103", text: "lost" })).rejects.toBeInstanceOf(LocalWebhookError);
      expect(sink.conversation("15550100103").messages).toEqual([]);
    } finally {
      refuseWebhooks = false;
    }
  });
});

describe("local WhatsApp credentials", () => {
  const dir = useTempDir("concierge-wa-local-");

  it("are generated once under DATA_DIR, readable only by the owner, and the same after a restart", async () => {
    const first = await resolveLocalWhatsAppCredentials({ dataDir: dir() });
    expect(first.generated).toBe(true);
    expect(first.file).toBe(path.join(dir(), "whatsapp-local.json"));
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(first.credentials.appSecret.length).toBeGreaterThanOrEqual(32);
    const second = await resolveLocalWhatsAppCredentials({ dataDir: dir() });
    expect(second).toEqual({ ...first, generated: false });
    expect(JSON.parse(readFileSync(first.file!, "utf8"))).toEqual(first.credentials);
  });

  it("refuse to start on a damaged file instead of silently replacing the secrets", async () => {
    writeFileSync(path.join(dir(), "whatsapp-local.json"), '{"appSecret":"short"}');
    await expect(resolveLocalWhatsAppCredentials({ dataDir: dir() })).rejects.toThrow(/not a valid local WhatsApp credentials file/);
  });
});
