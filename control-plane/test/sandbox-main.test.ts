import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";

/** main.ts wires the sandbox parts: runtime choice, admin API with a generated token, shutdown. */
describe("control plane with sandboxes (process runtime)", () => {
  let dataDir: string;
  let cp: ControlPlane | undefined;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "concierge-main-"));
  });
  afterAll(async () => {
    await cp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("provisions through /sandbox with the generated admin token, and stops its agents on shutdown", async () => {
    cp = await startTestControlPlane({ DATA_DIR: dataDir, DATABASE_URL: undefined });
    expect(cp.runtime).toEqual({ kind: "process", reason: "SANDBOX_RUNTIME=process" });
    expect(cp.admin.source).toBe("generated");
    const token = cp.admin.generatedToken!;
    expect(readFileSync(path.join(dataDir, "admin-token"), "utf8").trim()).toBe(token);

    expect((await fetch(`${cp.url}/sandbox`)).status).toBe(401);
    const res = await fetch(`${cp.url}/sandbox`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Main" }),
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { userId: string; sandbox: { state: string; runtime: string } };
    expect(body.sandbox).toMatchObject({ state: "running", runtime: "process" });
    const run = JSON.parse(readFileSync(path.join(dataDir, "sandboxes", body.userId, "run.json"), "utf8")) as { pid: number };
    expect(alive(run.pid)).toBe(true);
    // The agent was told where the LLM gateway is: the sandbox listener, on loopback for processes.
    const environ = readFileSync(`/proc/${run.pid}/environ`, "utf8").split("\0");
    expect(environ).toContain(`LLM_BASE_URL=${cp.sandboxUrl}/llm/v1`);
    expect(cp.sandboxUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    await cp.stop();
    cp = undefined;
    for (let i = 0; i < 100 && alive(run.pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(run.pid)).toBe(false);

    // Started again on the same DATA_DIR: same token from the file, the sandbox is stopped, not crashed.
    cp = await startTestControlPlane({ DATA_DIR: dataDir, DATABASE_URL: undefined });
    expect(cp.admin).toMatchObject({ source: "file", generatedToken: undefined });
    const after = (await (await fetch(`${cp.url}/sandbox/${body.userId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { sandbox: { state: string; crashCount: number } };
    expect(after.sandbox).toMatchObject({ state: "stopped", crashCount: 0 });
  }, 60_000);
});
