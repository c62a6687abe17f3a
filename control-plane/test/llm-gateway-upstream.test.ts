import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { APIError, toFile } from "openai";
import { llmUsage } from "../src/db/schema";
import { describeEachDriver } from "../../test-support/db";
import { chatChunks, chatCompletion, openAIError } from "../../test-support/fake-llm-upstream";
import { apiError, PROVIDER_KEY, useGatewayHarness, type TestSandbox } from "./llm-gateway-harness";
import { waitFor } from "../../test-support/wait-for";

const messages = [{ role: "user" as const, content: "Remind me to call mum" }];
const TIMEOUT_MS = 2_500;


describeEachDriver("LLM gateway and a failing provider", (driver) => {
  const h = useGatewayHarness(driver, {
    env: { LLM_TIMEOUT_MS: String(TIMEOUT_MS) },
    gateway: { upstreamRetry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 2_000 }, maxRetryAfterMs: 1_500 },
  });
  let sbx: TestSandbox;
  beforeAll(async () => {
    sbx = await h.addSandbox();
  });
  beforeEach(() => h.date.advance(1_000));

  const latestRow = async () => {
    const rows = await h.t.database.db.select().from(llmUsage).where(eq(llmUsage.userId, sbx.userId)).orderBy(llmUsage.createdAt);
    return rows.at(-1)!;
  };
  const chat = () => h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages });

  it("retries a 5xx a bounded number of times and answers once the provider recovers", async () => {
    const before = h.upstream.requests.length;
    h.upstream.enqueue(
      { kind: "json", status: 500, body: openAIError("The server had an error", "server_error") },
      { kind: "json", status: 503, body: openAIError("Overloaded", "server_error") },
      { kind: "json", body: chatCompletion("recovered") },
    );
    expect((await chat()).choices[0]!.message.content).toBe("recovered");
    expect(h.upstream.requests.length - before).toBe(3);
    expect(await latestRow()).toMatchObject({ status: "ok", httpStatus: 200 });
  });

  it("gives up after the bound and returns the provider's own error body", async () => {
    const before = h.upstream.requests.length;
    for (let i = 0; i < 3; i++) h.upstream.enqueue({ kind: "json", status: 500, body: openAIError(`The server had an error (${i})`, "server_error", "boom") });
    const err = await apiError(chat());
    expect(err.status).toBe(500);
    expect(err.message).toContain("The server had an error (2)");
    expect(err.code).toBe("boom");
    expect(h.upstream.requests.length - before).toBe(3);
    expect(await latestRow()).toMatchObject({ status: "upstream_error", httpStatus: 500, costUsd: 0 });
  });

  it("wraps a provider error that is not OpenAI-shaped", async () => {
    for (let i = 0; i < 3; i++) h.upstream.enqueue({ kind: "raw", status: 502, body: "<html>Bad Gateway</html>" });
    const err = await apiError(chat());
    expect(err.status).toBe(502);
    expect(err.code).toBe("upstream_error");
    expect(err.type).toBe("api_error");
  });

  it("does not pass on the provider refusing the operator's key as if the sandbox token were wrong", async () => {
    h.upstream.enqueue({ kind: "json", status: 401, body: openAIError("Incorrect API key provided", "invalid_request_error", "invalid_api_key") });
    const err = await apiError(chat());
    expect(err.status).toBe(502);
    expect(err.code).toBe("upstream_auth_failed");
  });

  it("waits out a short Retry-After once, then answers", async () => {
    const before = h.upstream.requests.length;
    h.upstream.enqueue(
      { kind: "json", status: 429, headers: { "retry-after": "1" }, body: openAIError("Rate limit reached", "requests", "rate_limit_exceeded") },
      { kind: "json", body: chatCompletion("after the wait") },
    );
    expect((await chat()).choices[0]!.message.content).toBe("after the wait");
    const [first, second] = h.upstream.requests.slice(before);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it("passes a long Retry-After, or a second 429, through with its header and body", async () => {
    let before = h.upstream.requests.length;
    h.upstream.enqueue({ kind: "json", status: 429, headers: { "retry-after": "30" }, body: openAIError("Slow down", "requests", "rate_limit_exceeded") });
    let err = await apiError(chat());
    expect(err.status).toBe(429);
    expect(err.headers?.get("retry-after")).toBe("30");
    expect(err.message).toContain("Slow down");
    expect(h.upstream.requests.length - before).toBe(1);

    before = h.upstream.requests.length;
    h.upstream.enqueue(
      { kind: "json", status: 429, headers: { "retry-after-ms": "100" }, body: openAIError("Slow down once", "requests") },
      { kind: "json", status: 429, headers: { "retry-after-ms": "100" }, body: openAIError("Slow down twice", "requests") },
    );
    err = await apiError(chat());
    expect(err.status).toBe(429);
    expect(err.message).toContain("Slow down twice");
    expect(h.upstream.requests.length - before).toBe(2);
  });

  it("answers 504 in OpenAI's shape when the provider does not answer in time, and hangs up on it", async () => {
    const disconnects = h.upstream.disconnects;
    h.upstream.enqueue({ kind: "hang" });
    const started = Date.now();
    const err = await apiError(chat());
    expect(err.status).toBe(504);
    expect(err.code).toBe("upstream_timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
    // Generous upper bound: a loaded CI machine must not make this flaky; without a deadline it would hang to jest's limit.
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 10_000);
    await waitFor(() => h.upstream.disconnects > disconnects, 10_000);
    expect(await latestRow()).toMatchObject({ status: "timeout", httpStatus: 504 });
  });

  it("retries a stream's 5xx before its first byte", async () => {
    h.upstream.enqueue({ kind: "json", status: 502, body: openAIError("upstream connect error", "server_error") }, { kind: "sse", events: chatChunks(["fine"]) });
    const stream = await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("fine");
  });

  it("ends a stream that goes silent with an error the client raises, and meters what it saw", async () => {
    h.upstream.enqueue({ kind: "sse", events: chatChunks(["partial ", "answer ", "never ", "finished"]), stallAfter: 3 });
    const stream = await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, stream: true });
    let text = "";
    let caught: unknown;
    try {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    } catch (err) {
      caught = err;
    }
    expect(text).toBe("partial answer ");
    expect(caught).toBeInstanceOf(APIError);
    expect((caught as APIError).code).toBe("upstream_timeout");
    // The row is written once the gateway has closed the stream, which may be just after the client gave up.
    expect(await waitFor(async () => { const r = await latestRow(); return r.status === "timeout" && r; }, 5000, "the timeout's usage row")).toMatchObject({ status: "timeout", estimated: true });
  });

  it("aborts the provider's stream when the sandbox hangs up", async () => {
    const disconnects = h.upstream.disconnects;
    h.upstream.enqueue({ kind: "sse", events: chatChunks(Array.from({ length: 50 }, (_, i) => `w${i} `)), gapMs: 100 });
    const abort = new AbortController();
    const stream = await h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages, stream: true }, { signal: abort.signal });
    let seen = 0;
    try {
      for await (const c of stream) {
        if (c.choices[0]?.delta?.content) seen++;
        if (seen === 2) abort.abort();
      }
    } catch {
      // the client's own abort
    }
    await waitFor(() => h.upstream.disconnects > disconnects, 10_000);
    expect(h.upstream.streams.at(-1)!.finished).toBe(false);
    let row = await latestRow();
    for (let i = 0; i < 50 && row.status !== "aborted"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      row = await latestRow();
    }
    expect(row).toMatchObject({ status: "aborted", estimated: true });
    expect(row.completionTokens).toBeGreaterThan(0);
  });

  describe("transcriptions", () => {
    it("passes the multipart upload through with its content type, and meters the provider's usage", async () => {
      const audio = randomBytes(64 * 1024);
      h.upstream.enqueue({ kind: "json", body: { text: "buy milk", usage: { type: "tokens", input_tokens: 20, output_tokens: 5, total_tokens: 25 } } });
      const result = await h.client(sbx.token).audio.transcriptions.create({ file: await toFile(audio, "note.ogg", { type: "audio/ogg" }), model: "gpt-4o-mini-transcribe" });
      expect(result.text).toBe("buy milk");
      const seen = h.upstream.requests.at(-1)!;
      expect(seen.path).toBe("/v1/audio/transcriptions");
      expect(seen.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
      expect(seen.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
      expect(seen.body.indexOf(audio)).toBeGreaterThan(0);
      expect(seen.body.toString("latin1")).not.toContain(sbx.token);
      expect(await latestRow()).toMatchObject({ endpoint: "audio.transcriptions", model: "gpt-4o-mini-transcribe", promptTokens: 20, completionTokens: 5, status: "ok" });
    });

    it("forwards the body byte for byte", async () => {
      const boundary = "----concierge-test-boundary";
      const audio = Buffer.concat([randomBytes(4096), Buffer.from("\r\n--not-the-boundary\r\n"), randomBytes(4096)]);
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
        audio,
        Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--${boundary}--\r\n`),
      ]);
      h.upstream.enqueue({ kind: "json", body: { text: "hello" } });
      const res = await h.post("/audio/transcriptions", sbx.token, `multipart/form-data; boundary=${boundary}`, body);
      expect(res.status).toBe(200);
      expect(await res.json() as any).toEqual({ text: "hello" });
      const seen = h.upstream.requests.at(-1)!;
      expect(seen.headers["content-type"]).toBe(`multipart/form-data; boundary=${boundary}`);
      expect(seen.body.equals(body)).toBe(true);
      expect(await latestRow()).toMatchObject({ model: "whisper-1", status: "ok" });
    });

    it("refuses a body that is not multipart", async () => {
      const res = await h.post("/audio/transcriptions", sbx.token, "application/json", "{}");
      expect(res.status).toBe(400);
      expect((await res.json() as any).error).toMatchObject({ type: "invalid_request_error", code: "invalid_request" });
    });
  });
});

describeEachDriver("LLM gateway and an unreachable provider", (driver) => {
  const h = useGatewayHarness(driver, async () => {
    // A port on loopback that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    return {
      env: { LLM_BASE_URL: `http://127.0.0.1:${port}/v1` },
      gateway: { upstreamRetry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 } },
    };
  });

  it("answers 502 in OpenAI's shape after its bounded retries", async () => {
    const sbx = await h.addSandbox();
    const err = await apiError(h.client(sbx.token).chat.completions.create({ model: "test/chat-model", messages }));
    expect(err.status).toBe(502);
    expect(err.code).toBe("upstream_unavailable");
  });
});
