import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateSigningKeyPair } from "@concierge/protocol";
import { createLogger } from "../src/logger";
import { ProcessRuntime } from "../src/sandboxes/process-runtime";
import { AGENT_ENTRY } from "../src/sandboxes/runtime-choice";
import { buildAgentEnv } from "../src/sandboxes/agent-env";
import type { SandboxSpec } from "../src/sandboxes/runtime";
import { ConnectionManager } from "../src/connections/connection-manager";

const logger = createLogger({ level: "silent" });
const keys = generateSigningKeyPair();
const token = "sbx_process_runtime_token_0123456789";

describe("ProcessRuntime", () => {
  let dataDir: string;
  let runtime: ProcessRuntime;
  const userId = "user-proc-1";
  let spec: SandboxSpec;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "concierge-proc-"));
    runtime = new ProcessRuntime({ dataDir, agentEntry: AGENT_ENTRY, logger });
    const env = buildAgentEnv({ sandboxId: "sbx-p", token, publicKeyPem: keys.publicKeyPem, dataDir: "/data", gatewayUrl: "http://127.0.0.1:3001/llm/v1", timezone: "UTC" });
    spec = { userId, sandboxId: "sbx-p", image: "process", env, limits: { memoryMb: 128, cpus: 1, pids: 64 }, configHash: "h1" };
  });
  afterAll(async () => {
    await runtime.remove({ userId, removeData: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("two runtimes starting one user's sandbox at once spawn one agent", async () => {
    await runtime.create({ spec });
    const other = new ProcessRuntime({ dataDir, agentEntry: AGENT_ENTRY, logger });
    const [a, b] = await Promise.all([runtime.start({ userId }), other.start({ userId })]);
    expect(a.endpoint).toBe(b.endpoint);
    expect(a.endpoint).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it("serves the real agent on loopback, with its data under DATA_DIR/sandboxes/<user> and no control-plane secrets in its env", async () => {
    const inst = (await runtime.inspect({ userId }))!;
    const cm = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, connectTimeoutMs: 10_000 });
    try {
      await cm.connect({ sandboxId: "sbx-p", endpoint: inst.endpoint!, token });
    } finally {
      await cm.closeAll();
    }
    const { pid } = JSON.parse(readFileSync(path.join(dataDir, "sandboxes", userId, "run.json"), "utf8")) as { pid: number };
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    expect(environ).toContain(`AGENT_DATA_DIR=${runtime.dataDirOf(userId)}`);
    expect(environ).toContain("AGENT_HOST=127.0.0.1");
    expect(environ.filter((e) => /^(LLM_API_KEY|DATABASE_URL|ADMIN_TOKEN|OPENAI_API_KEY)=/.test(e))).toEqual([]);
    expect(await runtime.memoryUsage({ userId })).toBeGreaterThan(1024 * 1024);
  });

  it("a restarted control plane adopts the running agent from its pid file", async () => {
    const before = (await runtime.inspect({ userId }))!;
    const restarted = new ProcessRuntime({ dataDir, agentEntry: AGENT_ENTRY, logger });
    const listed = await restarted.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ userId, sandboxId: "sbx-p", running: true, endpoint: before.endpoint });
  });

  it("a pid file naming some other live process is not taken for the agent", async () => {
    await runtime.stop({ userId, timeoutSeconds: 5 });
    const runFile = path.join(dataDir, "sandboxes", userId, "run.json");
    writeFileSync(runFile, JSON.stringify({ pid: process.pid, port: 1, startedAt: new Date().toISOString() }));
    const inst = (await runtime.inspect({ userId }))!;
    expect(inst.running).toBe(false);
    await runtime.stop({ userId }); // must not signal this jest worker
    expect(process.pid).toBeGreaterThan(0);
  });

  it("keeps the agent's output for logs, without its token", async () => {
    const started = await runtime.start({ userId });
    expect(started.running).toBe(true);
    const logs = await runtime.logs({ userId, tail: 20 });
    expect(logs).toContain("gateway listening");
    expect(logs).not.toContain(token);
    await runtime.stop({ userId, timeoutSeconds: 5 });
    expect((await runtime.inspect({ userId }))!.running).toBe(false);
  });
});
