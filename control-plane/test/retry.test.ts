import { backoffDelay, retry, validateRetryPolicy } from "../src/retry";

describe("retry", () => {
  const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 4 };

  it("retries until success and reports each retry", async () => {
    let calls = 0;
    const retried: number[] = [];
    const out = await retry(async () => {
      calls++;
      if (calls < 3) throw new Error("flaky");
      return "ok";
    }, { policy: fast, onRetry: (_e, attempt) => retried.push(attempt) });
    expect(out).toBe("ok");
    expect(retried).toEqual([1, 2]);
  });

  it("stops at once on an error that is not retryable", async () => {
    let calls = 0;
    await expect(retry(async () => { calls++; throw new Error("400"); }, { policy: fast, retryable: () => false })).rejects.toThrow("400");
    expect(calls).toBe(1);
  });

  it("gives up after the policy's attempts", async () => {
    let calls = 0;
    await expect(retry(async () => { calls++; throw new Error("down"); }, { policy: fast })).rejects.toThrow("down");
    expect(calls).toBe(4);
  });

  it("uses full jitter capped by the maximum delay", () => {
    const p = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(p, 1, () => 0.999)).toBe(99);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(200);
    expect(backoffDelay(p, 9, () => 0.999)).toBe(999);
    expect(backoffDelay(p, 9, () => 0)).toBe(0);
  });

  it("refuses a policy that makes no sense", () => {
    expect(() => validateRetryPolicy({ attempts: 0, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(RangeError);
    expect(() => validateRetryPolicy({ attempts: 1, baseDelayMs: 10, maxDelayMs: 1 })).toThrow(RangeError);
  });
});
