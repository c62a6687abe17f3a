import { existsSync } from "node:fs";
import { loadConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { startControlPlane } from "../src/main";

describe("audit 15.7: HTTP stops before the dispatcher on shutdown", () => {
  it("stops the dispatcher (and the turns it works) first, HTTP (the LLM gateway they call) after", async () => {
    const lines: { msg?: string; part?: string }[] = [];
    const logger = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
    const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: ":memory:", SANDBOX_RUNTIME: "process" });
    const cp = await startControlPlane(config, { logger });
    expect((await fetch(`${cp.url}/healthz`)).status).toBe(200);
    await cp.stop();
    const order = lines.filter((l) => l.msg === "stopping").map((l) => l.part);
    expect(order).toContain("dispatcher");
    expect(order).toContain("http");
    expect(order.indexOf("dispatcher")).toBeLessThan(order.indexOf("http"));
    expect(order.indexOf("scheduler")).toBeLessThan(order.indexOf("http"));
    expect(order.indexOf("http")).toBeLessThan(order.indexOf("database"));
  }, 60_000);
});

describe("shutdown with DATA_DIR=:memory:", () => {
  it("removes the process runtime's temp directory", async () => {
    // DATA_DIR=":memory:" puts process sandboxes in a temp directory; every start used to leave one.
    const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: ":memory:", SANDBOX_RUNTIME: "process" });
    const cp = await startControlPlane(config, { logger: createLogger({ level: "silent" }) });
    const dir = cp.runtime.scratchDir!;
    expect(existsSync(dir)).toBe(true);
    await cp.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
