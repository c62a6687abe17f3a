import { FakeGraphApi, FAILURES } from "../../test-support/fake-graph-api";
import { GraphApiClient } from "../src/channels/whatsapp/graph-client";
import {
  GraphAuthError,
  GraphOutsideWindowError,
  GraphRateLimitError,
  GraphRequestError,
  GraphUndeliverableError,
  graphErrorFrom,
  toSendError,
} from "../src/channels/whatsapp/graph-errors";
import { createLogger } from "../src/logger";

const TOKEN = "EAAG-test-access-token";
const PHONE_ID = "106540352242922";

describe("Graph API client", () => {
  let fake: FakeGraphApi;
  let client: GraphApiClient;
  beforeAll(async () => {
    fake = await new FakeGraphApi({ accessToken: TOKEN, phoneNumberId: PHONE_ID }).start();
    client = new GraphApiClient({
      baseUrl: fake.baseUrl,
      phoneNumberId: PHONE_ID,
      accessToken: TOKEN,
      logger: createLogger({ level: "silent" }),
      retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
    });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  it("sends a text with the bearer token and returns Meta's wamid", async () => {
    const { wamid } = await client.sendText({ waId: "16505551234" }, "Olá 😀");
    expect(wamid).toMatch(/^wamid\./);
    expect(fake.calls[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fake.sentMessages()).toEqual([
      { messaging_product: "whatsapp", recipient_type: "individual", to: "16505551234", type: "text", text: { preview_url: false, body: "Olá 😀" } },
    ]);
  });

  it("addresses a user known only by business-scoped id with `recipient`", async () => {
    await client.sendText({ bsuid: "US.13491208655302741918" }, "hi");
    expect(fake.sentMessages()[0]).toMatchObject({ recipient: "US.13491208655302741918" });
    expect(fake.sentMessages()[0].to).toBeUndefined();
  });

  it("retries a 429 and sends exactly one message", async () => {
    fake.failNext(FAILURES.http429);
    await client.sendText({ waId: "1" }, "once");
    expect(fake.sendAttempts()).toHaveLength(2);
    expect(fake.sentMessages()).toHaveLength(1);
  });

  it("retries Meta's throughput error 130429 and a 5xx", async () => {
    fake.failNext(FAILURES.throughput, FAILURES.serverError);
    await client.sendText({ waId: "1" }, "eventually");
    expect(fake.sendAttempts()).toHaveLength(3);
    expect(fake.sentMessages()).toHaveLength(1);
  });

  it("does not retry a 400 and reports it as a request error", async () => {
    fake.failNext(FAILURES.badRequest);
    const err = await client.sendText({ waId: "1" }, "bad").catch((e) => e);
    expect(err).toBeInstanceOf(GraphRequestError);
    expect(err.code).toBe("100");
    expect(fake.sendAttempts()).toHaveLength(1);
    expect(toSendError(err)).toMatchObject({ retryable: false, code: "100" });
  });

  it("maps 131047 and 131026 to their own errors, without retrying", async () => {
    fake.failNext(FAILURES.outsideWindow);
    await expect(client.sendText({ waId: "1" }, "late")).rejects.toBeInstanceOf(GraphOutsideWindowError);
    fake.failNext(FAILURES.undeliverable);
    await expect(client.sendText({ waId: "1" }, "nobody")).rejects.toBeInstanceOf(GraphUndeliverableError);
    expect(fake.sendAttempts()).toHaveLength(2);
  });

  it("gives up after the policy's attempts when rate limiting persists", async () => {
    fake.failNext(FAILURES.rateLimited, FAILURES.rateLimited, FAILURES.rateLimited, FAILURES.rateLimited);
    const err = await client.sendText({ waId: "1" }, "busy").catch((e) => e);
    expect(err).toBeInstanceOf(GraphRateLimitError);
    expect(toSendError(err).retryable).toBe(true);
    expect(fake.sendAttempts()).toHaveLength(4);
  });

  it("refuses a text over 4096 characters before calling Meta", async () => {
    await expect(client.sendText({ waId: "1" }, "x".repeat(4097))).rejects.toBeInstanceOf(GraphRequestError);
    expect(fake.calls).toHaveLength(0);
  });

  it("sends a template with its body parameter", async () => {
    await client.sendTemplate({ waId: "1" }, { name: "proactive_update", language: "en", bodyParameters: ["Your 5 pm reminder"] });
    expect(fake.sentMessages()[0]).toMatchObject({
      type: "template",
      template: { name: "proactive_update", language: { code: "en" }, components: [{ type: "body", parameters: [{ type: "text", text: "Your 5 pm reminder" }] }] },
    });
  });

  it("marks a message read with the typing indicator", async () => {
    await client.markRead("wamid.ABC", { typing: true });
    expect(fake.readReceipts()).toEqual([{ messaging_product: "whatsapp", status: "read", message_id: "wamid.ABC", typing_indicator: { type: "text" } }]);
  });

  it("downloads media: looks up the URL, then fetches it with the bearer token", async () => {
    fake.media.set("1003383421387256", { data: Buffer.from("OggS-fake-opus"), mimeType: "audio/ogg" });
    const { data, mimeType } = await client.downloadMedia("1003383421387256");
    expect(data.toString()).toBe("OggS-fake-opus");
    expect(mimeType).toBe("audio/ogg");
    const download = fake.calls.find((c) => c.path.startsWith("/media-download/"));
    expect(download?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("reports a bad token as an auth error", async () => {
    const bad = new GraphApiClient({ baseUrl: fake.baseUrl, phoneNumberId: PHONE_ID, accessToken: "wrong", logger: createLogger({ level: "silent" }), retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    await expect(bad.sendText({ waId: "1" }, "x")).rejects.toBeInstanceOf(GraphAuthError);
    expect(fake.calls).toHaveLength(1);
  });

  it("maps statuses and codes in one place", () => {
    expect(graphErrorFrom(503, undefined)).toMatchObject({ retryable: true, code: "http_503" });
    expect(graphErrorFrom(429, {}, "3")).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    expect(graphErrorFrom(400, { error: { code: 131056, message: "pair rate limit" } })).toBeInstanceOf(GraphRateLimitError);
    expect(graphErrorFrom(400, { error: { code: 132000, message: "param count" } })).toMatchObject({ retryable: false, code: "132000" });
  });
});
