import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { generateSigningKeyPair } from "@concierge/protocol";
import { createLogger } from "../src/logger";
import { ConnectionManager, type AgentTarget } from "../src/connections/connection-manager";

/**
 * The ConnectionManager against the real agent (sandbox-image/dist/main.js, built by `tsc -b`),
 * offline (no LLM): the real gateway's handshake, request ids and idempotency-key replay.
 */
const MAIN = path.resolve(__dirname, "../../sandbox-image/dist/main.js");
const keys = generateSigningKeyPair();
const token = `sbx_${randomBytes(24).toString("base64url")}`;
const logger = createLogger({ level: "silent" });

describe("ConnectionManager with the real agent process", () => {
  let child: ChildProcess | undefined;
  let dataDir: string;
  let mgr: ConnectionManager;
  let target: AgentTarget;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "cm-agent-"));
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        SANDBOX_ID: "sbx-real",
        SANDBOX_TOKEN: token,
        CONTROL_PLANE_PUBLIC_KEY: Buffer.from(keys.publicKeyPem).toString("base64"),
        AGENT_HOST: "127.0.0.1",
        AGENT_PORT: "0",
        AGENT_DATA_DIR: dataDir,
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent did not start: ${out}`)), 20_000);
      child!.stdout!.on("data", (d) => {
        out += String(d);
        for (const line of out.split("\n")) {
          try {
            const l = JSON.parse(line);
            if (l.msg === "agent process ready") {
              clearTimeout(timer);
              resolve(l.port);
            }
          } catch {
            // partial line
          }
        }
      });
      child!.once("exit", (code) => reject(new Error(`agent exited ${code}: ${out}`)));
    });
    target = { sandboxId: "sbx-real", endpoint: `ws://127.0.0.1:${port}`, token };
    mgr = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, requestTimeoutMs: 15_000, connectTimeoutMs: 10_000 });
  }, 30_000);
  afterAll(async () => {
    await mgr?.closeAll();
    if (child && child.exitCode === null) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("handshakes, answers status, and replays a chat turn for a repeated idempotency key", async () => {
    await mgr.connect(target);
    const status = await mgr.request(target, "status", {});
    expect(status.llmConfigured).toBe(false);
    const params = { idempotencyKey: "inbox-row-1", channel: "whatsapp" as const, text: "add a task: buy milk" };
    const first = await mgr.request(target, "chat.send", params);
    const again = await mgr.request(target, "chat.send", params);
    expect(first.reply.length).toBeGreaterThan(0);
    expect(again.reply).toBe(first.reply);
  });

  it("returns concurrent answers to the right callers on one socket", async () => {
    const reads = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? mgr.request(target, "status", {}).then((r) => ({ i, kind: "status", ok: typeof r.uptimeSeconds === "number" }))
          : mgr.request(target, "workspace.list", {}).then((r) => ({ i, kind: "list", ok: Array.isArray(r.files) })),
      ),
    );
    expect(reads.every((r) => r.ok)).toBe(true);
    expect(mgr.openCount).toBe(1);
  });

  it("is refused with another token", async () => {
    const other = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger });
    await expect(other.connect({ ...target, token: `${token}x` }, { timeoutMs: 3000 })).rejects.toMatchObject({ closeCode: 4001 });
    await other.closeAll();
  });
});
