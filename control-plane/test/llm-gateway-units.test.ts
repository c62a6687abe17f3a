import { ManualClock } from "../src/clock";
import { SseUsageTap } from "../src/llm-gateway/sse-usage-tap";
import { retryAfterMs } from "../src/llm-gateway/upstream-client";
import { monthOf, parsePeriod } from "../src/llm-gateway/period";
import { SandboxRateLimiter } from "../src/llm-gateway/rate-limiter";
import { costUsd, parseUsage } from "../src/llm-gateway/usage-accounting";
import { asOpenAIErrorBody } from "../src/llm-gateway/gateway-errors";
import { resolveModel } from "../src/llm-gateway/chat-completions";

const enc = (s: string) => new TextEncoder().encode(s);

describe("SSE usage tap", () => {
  it("finds the usage chunk however the bytes are split, multi-byte characters included", () => {
    const stream =
      'data: {"model":"m","choices":[{"delta":{"content":"Grüße 👋"}}]}\r\n\r\n' +
      'data: {"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"cost":0.001}}\n\n' +
      "data: [DONE]\n\n";
    const bytes = enc(stream);
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const tap = new SseUsageTap();
      for (let i = 0; i < bytes.length; i += size) tap.feed(bytes.subarray(i, i + size));
      tap.end();
      expect(tap.usage).toEqual({ promptTokens: 5, completionTokens: 3, providerCostUsd: 0.001 });
      expect(tap.contentChars).toBe("Grüße 👋".length);
      expect(tap.model).toBe("m");
    }
  });

  it("notices an error event inside a 200 stream", () => {
    const tap = new SseUsageTap();
    tap.feed(enc('data: {"error":{"message":"overloaded","code":502}}\n\n'));
    expect(tap.streamError).toEqual({ message: "overloaded", code: 502 });
  });
});

describe("Retry-After", () => {
  const now = new Date("2026-03-15T12:00:00Z");
  it("reads retry-after-ms, seconds and HTTP dates", () => {
    expect(retryAfterMs(new Headers({ "retry-after-ms": "250" }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ "retry-after": "2" }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ "retry-after": "Sun, 15 Mar 2026 12:00:05 GMT" }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({}), now)).toBeUndefined();
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
  });
});

describe("periods", () => {
  it("uses calendar months in UTC, across the year end", () => {
    expect(monthOf(new Date("2026-12-31T23:59:59Z"))).toEqual({ from: new Date("2026-12-01T00:00:00Z"), to: new Date("2027-01-01T00:00:00Z") });
    const now = new Date("2026-03-15T12:00:00Z");
    expect(parsePeriod({ period: "2026-02" }, now)).toEqual({ from: new Date("2026-02-01T00:00:00Z"), to: new Date("2026-03-01T00:00:00Z") });
    expect(parsePeriod({ period: "day" }, now).from).toEqual(new Date("2026-03-15T00:00:00Z"));
    expect(parsePeriod({ from: "2026-03-01" }, now)).toEqual({ from: new Date("2026-03-01T00:00:00Z"), to: now });
    expect(() => parsePeriod({ period: "2026-13" }, now)).toThrow(/period must be/);
    expect(() => parsePeriod({ from: "2026-03-10", to: "2026-03-01" }, now)).toThrow(/after/);
  });
});

describe("per-sandbox rate limiter", () => {
  it("allows a burst of the per-minute limit, then one more per refill interval", () => {
    const clock = new ManualClock("2026-03-15T12:00:00Z");
    const l = new SandboxRateLimiter(6, clock);
    for (let i = 0; i < 6; i++) expect(l.take("a")).toBe(0);
    expect(l.take("a")).toBe(10);
    expect(l.take("b")).toBe(0);
    clock.advance(9_000);
    expect(l.take("a")).toBe(1);
    clock.advance(1_000);
    expect(l.take("a")).toBe(0);
    clock.advance(10 * 60_000);
    for (let i = 0; i < 6; i++) expect(l.take("a")).toBe(0);
    expect(l.take("a")).toBeGreaterThan(0);
  });
});

describe("usage accounting", () => {
  it("prefers the provider's cost, else prices tokens, and reads transcription usage", () => {
    const prices = { priceInputPerMTok: 3, priceOutputPerMTok: 15 };
    expect(costUsd(parseUsage({ prompt_tokens: 1_000_000, completion_tokens: 100_000 })!, prices)).toBeCloseTo(4.5, 10);
    expect(costUsd(parseUsage({ prompt_tokens: 1_000_000, completion_tokens: 0, cost: 0.5 })!, prices)).toBe(0.5);
    expect(parseUsage({ type: "tokens", input_tokens: 20, output_tokens: 5 })).toEqual({ promptTokens: 20, completionTokens: 5, providerCostUsd: undefined });
    expect(parseUsage({ type: "duration", seconds: 12 })).toBeUndefined();
    expect(parseUsage(null)).toBeUndefined();
  });
});

describe("model policy", () => {
  const llm = { baseUrl: "http://127.0.0.1:1/v1", model: "a", heartbeatModel: "b", allowedModels: ["a", "b", "c"] };
  it("defaults by purpose and refuses what is not allowed", () => {
    expect(resolveModel(undefined, null, llm)).toBe("a");
    expect(resolveModel("", "heartbeat", llm)).toBe("b");
    expect(resolveModel("c", "chat", llm)).toBe("c");
    expect(() => resolveModel("d", null, llm)).toThrow(/not allowed/);
    expect(() => resolveModel(42, null, llm)).toThrow(/must be a string/);
  });
});

describe("provider error bodies", () => {
  it("keeps OpenAI-shaped errors and wraps anything else", () => {
    expect(asOpenAIErrorBody(429, { error: { message: "slow", type: "requests", code: "rate_limit_exceeded", param: null } })).toEqual({
      error: { message: "slow", type: "requests", code: "rate_limit_exceeded", param: null },
    });
    // OpenRouter sends numeric codes and extra metadata.
    expect(asOpenAIErrorBody(502, { error: { message: "down", code: 502, metadata: { provider_name: "x" } } }).error).toMatchObject({
      message: "down",
      type: "api_error",
      code: "502",
      metadata: { provider_name: "x" },
    });
    expect(asOpenAIErrorBody(502, "<html>")).toEqual({ error: { message: "The LLM provider answered with HTTP 502.", type: "api_error", param: null, code: "upstream_error" } });
  });
});
