import { describeEachDriver } from "../../test-support/db";
import { usageSummary } from "../src/llm-gateway";
import { apiError, useGatewayHarness, type TestSandbox } from "./llm-gateway-harness";

const messages = [{ role: "user" as const, content: "Plan my week" }];

// Each default fake completion uses 11 prompt and 7 completion tokens; at 1000/2000 USD per
// million that is 0.025 USD a call, so a 0.05 USD budget holds exactly two calls.
describeEachDriver("LLM budgets", (driver) => {
  const h = useGatewayHarness(driver, { env: { LLM_MONTHLY_BUDGET_USD: "0.05" } });
  let ada: TestSandbox;
  let bob: TestSandbox;
  beforeAll(async () => {
    ada = await h.addSandbox("Ada");
    bob = await h.addSandbox("Bob");
  });

  const call = (s: TestSandbox) => h.client(s.token).chat.completions.create({ model: "test/chat-model", messages });

  it("refuses a user over their monthly budget with 402 and an OpenAI-style insufficient_quota body", async () => {
    await call(ada);
    h.date.advance(1_000);
    await call(ada);
    h.date.advance(1_000);
    const before = h.upstream.requests.length;
    const err = await apiError(call(ada));
    expect(err.status).toBe(402);
    expect(err.type).toBe("insufficient_quota");
    expect(err.code).toBe("budget_exceeded");
    expect(h.upstream.requests.length).toBe(before);

    const res = await h.post("/chat/completions", ada.token, "application/json", JSON.stringify({ messages }));
    expect(res.status).toBe(402);
    const body = await res.json() as any;
    expect(body).toEqual({
      error: {
        message: expect.stringContaining("budget of $0.05 is used up"),
        type: "insufficient_quota",
        param: null,
        code: "budget_exceeded",
      },
    });
    // Streams are refused the same way, before anything is streamed.
    expect((await apiError(h.client(ada.token).chat.completions.create({ model: "test/chat-model", messages, stream: true }))).status).toBe(402);
  });

  it("spends one user's budget only: another user still gets answers", async () => {
    await call(bob);
  });

  it("shows the operator the spending, the refusals and the budget in the admin REST", async () => {
    const res = await h.admin(`/sandbox/users/${ada.userId}/usage?period=month`);
    expect(res.status).toBe(200);
    const body = await res.json() as any;
    expect(body.from).toBe("2026-03-01T00:00:00.000Z");
    expect(body.to).toBe("2026-04-01T00:00:00.000Z");
    expect(body.totals).toMatchObject({ promptTokens: 22, completionTokens: 14, rejected: 3, requests: 5, errors: 0 });
    expect(body.totals.costUsd).toBeCloseTo(0.05, 10);
    expect(body.byModel).toEqual([expect.objectContaining({ model: "test/chat-model", requests: 5 })]);
    expect(body.budget).toMatchObject({ monthlyUsd: 0.05, source: "default", overBudget: true, remainingUsd: 0 });

    // The same report for the sandbox admin's GET /sandbox/:id/usage hook.
    const report = await h.gateway.usageReport(ada.userId);
    expect(report.totals).toEqual(body.totals);
    expect(report.budget.overBudget).toBe(true);

    const all = await (await h.admin("/sandbox/usage?period=month")).json() as any;
    expect(all.users.map((u: { userId: string }) => u.userId)).toEqual([ada.userId, bob.userId]);
    expect(all.users[0]).toMatchObject({ name: "Ada", rejected: 3, budget: { overBudget: true } });
    expect(all.users[1]).toMatchObject({ name: "Bob", requests: 1, budget: { overBudget: false } });
  });

  it("resets the budget when the calendar month (UTC) turns", async () => {
    h.date.set("2026-03-31T23:59:59Z");
    expect((await apiError(call(ada))).status).toBe(402);
    h.date.set("2026-04-01T00:00:00Z");
    await call(ada);
    const april = await (await h.admin(`/sandbox/users/${ada.userId}/usage`)).json() as any;
    expect(april.totals).toMatchObject({ requests: 1, rejected: 0 });
    expect(april.budget).toMatchObject({ overBudget: false, periodStart: "2026-04-01T00:00:00.000Z" });
    const march = await (await h.admin(`/sandbox/users/${ada.userId}/usage?period=2026-03`)).json() as any;
    expect(march.totals).toMatchObject({ requests: 6, rejected: 4 });
  });

  it("lets the operator override one user's budget, and return them to the default", async () => {
    await call(ada);
    h.date.advance(1_000);
    expect((await apiError(call(ada))).status).toBe(402);

    const put = await h.admin(`/sandbox/users/${ada.userId}/budget`, { method: "PUT", body: JSON.stringify({ monthlyUsd: 1 }) });
    expect(put.status).toBe(200);
    expect(await put.json() as any).toMatchObject({ monthlyUsd: 1, source: "override", overBudget: false });
    h.date.advance(1_000);
    await call(ada);

    const reset = await h.admin(`/sandbox/users/${ada.userId}/budget`, { method: "PUT", body: JSON.stringify({ monthlyUsd: null }) });
    expect(await reset.json() as any).toMatchObject({ monthlyUsd: 0.05, source: "default", overBudget: true });
    h.date.advance(1_000);
    expect((await apiError(call(ada))).status).toBe(402);

    const zero = await h.admin(`/sandbox/users/${bob.userId}/budget`, { method: "PUT", body: JSON.stringify({ monthlyUsd: 0 }) });
    expect(await zero.json() as any).toMatchObject({ monthlyUsd: 0, overBudget: true });
    expect((await apiError(call(bob))).status).toBe(402);
    expect(await (await h.admin(`/sandbox/users/${bob.userId}/budget`)).json() as any).toMatchObject({ monthlyUsd: 0, source: "override" });
  });

  it("validates the admin requests", async () => {
    expect((await h.admin(`/sandbox/users/${ada.userId}/budget`, { method: "PUT", body: JSON.stringify({ monthlyUsd: -1 }) })).status).toBe(400);
    expect((await h.admin(`/sandbox/users/${ada.userId}/budget`, { method: "PUT", body: JSON.stringify({ usd: 3 }) })).status).toBe(400);
    const missing = await h.admin(`/sandbox/users/no-such-user/budget`, { method: "PUT", body: JSON.stringify({ monthlyUsd: 3 }) });
    expect(missing.status).toBe(404);
    expect((await missing.json() as any).error.code).toBe("not_found");
    expect((await h.admin(`/sandbox/users/no-such-user/usage`)).status).toBe(404);
    const bad = await h.admin(`/sandbox/usage?period=fortnight`);
    expect(bad.status).toBe(400);
    expect((await bad.json() as any).error.code).toBe("bad_request");
    expect((await fetch(`${h.url}/sandbox/usage`)).status).toBe(401);
    expect((await fetch(`${h.url}/sandbox/users/${ada.userId}/budget`, { method: "PUT", body: "{}" })).status).toBe(401);
  });

  it("sums a period with usageSummary, by model and by purpose", async () => {
    const s = await usageSummary(h.t.database.db, ada.userId, { from: new Date("2026-03-01T00:00:00Z"), to: new Date("2026-03-15T12:00:02Z") });
    // Only the first two calls fell in that window.
    expect(s.totals).toMatchObject({ requests: 2, promptTokens: 22, completionTokens: 14, rejected: 0 });
    expect(s.byPurpose).toEqual([expect.objectContaining({ purpose: "unspecified", requests: 2 })]);
  });
});
