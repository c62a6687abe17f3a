import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { artifactPath, describeChromium, launchChromium } from "./dashboard-harness";

// page.evaluate() callbacks run in the browser; the Node-side type check only needs these two.
declare const sessionStorage: { getItem(key: string): string | null };
declare const localStorage: { length: number };

const TOKEN = "dashboard-browser-admin-token-0123456789";
const PHONE = "15550100177";
const WAIT = { timeout: 20_000 };

/**
 * The operator's walk through the dashboard in headless chromium, against a real control plane:
 * process-runtime sandboxes running the real agent (offline brain, no LLM), WhatsApp on the
 * built-in local Graph API sink, the console posting signed webhooks as the user's phone.
 */
describeChromium("the operator dashboard in headless chromium", () => {
  let cp: ControlPlane;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const pageErrors: string[] = [];
  const offLoopback: string[] = [];
  let userId = "";

  const admin = (path: string, init: RequestInit = {}) => fetch(`${cp.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });
  const shot = (name: string) => page.screenshot({ path: artifactPath(`dashboard-${name}.png`), fullPage: true });

  beforeAll(async () => {
    cp = await startTestControlPlane({ ADMIN_TOKEN: TOKEN });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    browser.context.on("request", (req) => {
      if (!req.url().startsWith(cp.url) && !req.url().startsWith("blob:")) offLoopback.push(req.url());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cp?.stop();
  }, 60_000);

  afterEach(() => {
    expect(pageErrors).toEqual([]);
    expect(offLoopback).toEqual([]);
  });

  it("keeps the data behind the login: a wrong token is refused, the right one shows the sandboxes table", async () => {
    await page.goto(`${cp.url}/admin`);
    await page.getByTestId("login-form").waitFor(WAIT);
    await shot("login");
    await page.getByTestId("token-input").fill("not-the-admin-token-at-all");
    await page.getByTestId("login").click();
    await page.getByTestId("login-error").filter({ hasText: "refused" }).waitFor(WAIT);
    expect(await page.evaluate(() => sessionStorage.getItem("concierge.adminToken"))).toBeNull();

    await page.getByTestId("token-input").fill(TOKEN);
    await page.getByTestId("login").click();
    await page.getByTestId("sandboxes").waitFor(WAIT);
    await page.getByTestId("sandbox-rows").filter({ hasText: "No sandboxes yet" }).waitFor(WAIT);
    // Kept for this tab's session only.
    expect(await page.evaluate(() => sessionStorage.getItem("concierge.adminToken"))).toBe(TOKEN);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it("chats with a new test user's assistant through the console and shows the reply", async () => {
    await page.getByTestId("nav-console").click();
    await page.getByTestId("console-phone").fill(`+${PHONE}`);
    await page.getByTestId("console-name").fill("Ana Test");
    await page.getByTestId("console-open").click();
    await page.getByTestId("chat-input").fill("add task buy oat milk");
    await page.getByTestId("chat-send").click();
    await page.getByTestId("chat-in").filter({ hasText: "add task buy oat milk" }).waitFor(WAIT);
    // The offline brain's answer, which went agent → outbox → Graph API client → local sink.
    const reply = page.getByTestId("chat-out").filter({ hasText: "buy oat milk" });
    await reply.waitFor({ timeout: 30_000 });
    expect(await reply.textContent()).toMatch(/Added task #1: buy oat milk/);
    // The sink reported sent and delivered, and the console (the open chat) read it.
    await page.locator('[data-testid=chat-out][data-status=read]').waitFor(WAIT);
    await shot("console");

    const list = await (await admin("/sandbox")).json() as any;
    const me = list.sandboxes.find((u: { phone: string }) => u.phone === PHONE);
    expect(me).toMatchObject({ name: "Ana Test", sandbox: { state: "running" } });
    userId = me.userId;
  }, 60_000);

  it("lists the user in the sandboxes table with state, image, activity and spend", async () => {
    await page.getByTestId("nav-sandboxes").click();
    const row = page.locator(`[data-testid=sandbox-row][data-user="${userId}"]`);
    await row.waitFor(WAIT);
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("Ana Test");
    expect(text).toContain("running");
    expect(text).toContain("process");
    expect(text).toMatch(/\d+(\.\d)? MiB/);
    expect(text).toContain("$0.00");
    await shot("sandboxes");
  });

  it("opens the user page: the timeline shows both messages with delivery state, and SOUL.md is edited in the workspace", async () => {
    await page.locator(`[data-testid=sandbox-row][data-user="${userId}"] a`).click();
    await page.getByTestId("timeline-in").filter({ hasText: "add task buy oat milk" }).waitFor(WAIT);
    await page.locator("[data-testid=timeline-out][data-status=read]").filter({ hasText: "Added task #1" }).waitFor(WAIT);
    expect(await page.getByTestId("timeline-in").first().textContent()).toContain("turn done");

    await page.locator('[data-testid=ws-file][data-path="SOUL.md"]').click(WAIT);
    const editor = page.locator('[data-testid=ws-editor][data-path="SOUL.md"]');
    await editor.waitFor(WAIT);
    const before = await editor.inputValue();
    expect(before.length).toBeGreaterThan(20);
    const line = "Always answer in the voice of a ship's captain (set from the dashboard).";
    await editor.fill(`${before.trimEnd()}\n\n${line}\n`);
    await page.getByTestId("ws-save").click();
    await page.getByTestId("ws-status").filter({ hasText: "Saved" }).waitFor(WAIT);
    // The agent's own workspace holds it now.
    const res = await admin(`/sandbox/${userId}/workspace/SOUL.md`, { headers: { accept: "text/plain" } });
    expect(await res.text()).toContain(line);
    await page.getByTestId("logs").filter({ hasNotText: "…" }).waitFor(WAIT);
    await shot("user");
  }, 60_000);

  it("stops and starts the sandbox from the user page", async () => {
    await page.getByTestId("action-stop").click();
    await page.getByTestId("state").filter({ hasText: "stopped" }).waitFor(WAIT);
    expect((await (await admin(`/sandbox/${userId}`)).json() as any).sandbox.state).toBe("stopped");
    await shot("user-stopped");

    await page.getByTestId("action-start").click();
    await page.getByTestId("state").filter({ hasText: "running" }).waitFor({ timeout: 30_000 });
    expect((await (await admin(`/sandbox/${userId}`)).json() as any).sandbox.state).toBe("running");
    // The edit survived the stop: it lives on the user's volume, not in the process.
    const soul = await admin(`/sandbox/${userId}/workspace/SOUL.md`, { headers: { accept: "text/plain" } });
    expect(await soul.text()).toContain("ship's captain");
  }, 60_000);

  it("deletes the user with an export of their data, downloaded by the browser", async () => {
    await page.getByTestId("action-delete").click();
    await page.getByTestId("delete-export").check();
    const download = page.waitForEvent("download", { timeout: 30_000 });
    await page.getByTestId("delete-confirm").click();
    const file = await (await download).path();
    const exported = JSON.parse(readFileSync(file, "utf8"));
    expect(JSON.stringify(exported.tables)).toContain("buy oat milk");
    expect(exported.workspace["SOUL.md"]).toContain("ship's captain");
    await page.getByTestId("sandboxes").waitFor(WAIT);
    expect((await admin(`/sandbox/${userId}`)).status).toBe(404);
  }, 60_000);
});
