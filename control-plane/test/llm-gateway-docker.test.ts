import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { llmUsage } from "../src/db/schema";
import { containerName } from "../src/sandboxes/container-spec";
import type { DockerRuntime } from "../src/sandboxes/docker-runtime";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { describeDocker, TEST_RUN_ID } from "../../test-support/docker";
import { createSandboxHarness, ensureAgentImage, type SandboxHarness } from "../../test-support/sandbox-harness";
import { chatChunks } from "../../test-support/fake-llm-upstream";
import { PROVIDER_KEY, startGatewayHarness, type GatewayHarness } from "./llm-gateway-harness";

const run = promisify(execFile);

/** True when `needle` occurs anywhere in the command's stdout, scanned as it streams (a whole filesystem). */
function streamContains(cmd: string, args: string[], needle: Buffer, timeoutMs = 120_000): Promise<{ found: boolean; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let carry = Buffer.alloc(0);
    let bytes = 0;
    let found = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (found) return;
      const window = Buffer.concat([carry, chunk]);
      if (window.includes(needle)) found = true;
      carry = window.subarray(Math.max(0, window.length - needle.length + 1));
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`));
      else resolve({ found, bytes });
    });
  });
}

// Runs inside the sandbox, configured only from the container's environment: a model the gateway
// does not allow. (The agent's own client is bundled into its one file, so the allowed call below
// goes through the agent itself.)
const IN_SANDBOX_FORBIDDEN = `
fetch(process.env.LLM_BASE_URL + "/chat/completions", {
  method: "POST",
  headers: { authorization: "Bearer " + process.env.SANDBOX_TOKEN, "content-type": "application/json" },
  body: JSON.stringify({ model: "x/forbidden", messages: [] }),
}).then((r) => process.stdout.write(JSON.stringify({ forbidden: r.status })), (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

describeDocker("LLM gateway with a real sandbox container", () => {
  let testDb: TestDatabase;
  let sh: SandboxHarness;
  let gh: GatewayHarness;
  let gatewayPort = 0;
  let userId: string;

  beforeAll(async () => {
    ensureAgentImage();
    testDb = await createTestDatabase();
    sh = await createSandboxHarness({
      kind: "docker",
      testDb,
      network: `concierge-test-llm-${TEST_RUN_ID}`,
      service: {
        settings: {
          image: process.env.SANDBOX_IMAGE ?? "concierge-agent:latest",
          limits: { memoryMb: 256, cpus: 0.5, pids: 128 },
          gatewayPort: () => gatewayPort,
          llm: { model: "test/chat-model", heartbeatModel: "test/cheap-model" },
        },
      },
    });
    // The gateway listens on the sandbox bridge's host address only: that is how sandboxes reach it.
    const { gateway } = await (sh.runtime as DockerRuntime).ensureNetwork();
    gh = await startGatewayHarness(testDb.database.driver, { testDb, listenHost: gateway });
    gatewayPort = Number(new URL(gh.url).port);
    userId = await sh.createUser({ name: "Grace" });
    await sh.service.ensure(userId);
  }, 180_000);

  afterAll(async () => {
    await sh?.cleanup();
    await gh?.close();
    await testDb?.cleanup();
  }, 120_000);

  it("gives the container its gateway URL and token, and no provider key in its environment", async () => {
    const info = JSON.parse((await run("docker", ["inspect", containerName(userId)], { maxBuffer: 8 << 20 })).stdout)[0];
    const env: string[] = info.Config.Env;
    const byName = Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    expect(byName.LLM_BASE_URL).toBe(`${gh.url}/llm/v1`);
    expect(byName.SANDBOX_TOKEN).toMatch(/^sbx_/);
    expect(env.join("\n")).not.toContain(PROVIDER_KEY);
    for (const name of ["LLM_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"]) expect(byName[name]).toBeUndefined();
    expect(JSON.stringify(info)).not.toContain(PROVIDER_KEY);
  });

  it("answers the agent's own openai client inside the container, with the provider key added only on the way out", async () => {
    gh.upstream.enqueue({ kind: "sse", events: chatChunks(["Hello ", "Grace"]) });
    // A chat turn of the real agent in the container: its bundled openai client, streaming through the gateway.
    const target = await sh.service.ensure(userId);
    const turn = await sh.connections.request(target, "chat.send", { idempotencyKey: `gw-${TEST_RUN_ID}`, channel: "whatsapp", text: "hi" });
    expect(turn.reply).toBe("Hello Grace");
    const { stdout } = await run("docker", ["exec", containerName(userId), "node", "-e", IN_SANDBOX_FORBIDDEN], { timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ forbidden: 400 });
    const seen = gh.upstream.requests.at(-1)!;
    expect(seen.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(seen.json).toMatchObject({ model: "test/chat-model", stream: true });
    const rows = await testDb.database.db.select().from(llmUsage).where(eq(llmUsage.userId, userId));
    const sandbox = await sh.service.get(userId);
    expect(rows).toEqual([expect.objectContaining({ sandboxId: sandbox!.id, status: "ok", promptTokens: 11, completionTokens: 7 })]);
  }, 90_000);

  it("holds no provider key anywhere in the container's filesystem or the user's volume", async () => {
    const needle = Buffer.from(PROVIDER_KEY);
    const exported = await streamContains("docker", ["export", containerName(userId)], needle);
    expect(exported.bytes).toBeGreaterThan(10 << 20); // a whole root filesystem was read
    expect(exported.found).toBe(false);
    // The volume is not in `docker export`: walk it from inside.
    const walk = `
      const fs = require("fs"), path = require("path"); let files = 0, hit = false;
      const visit = (p) => { const st = fs.lstatSync(p); if (st.isDirectory()) { for (const n of fs.readdirSync(p)) visit(path.join(p, n)); } else if (st.isFile()) { files++; if (fs.readFileSync(p).includes(Buffer.from(process.argv[1], "base64"))) hit = true; } };
      visit("/data"); process.stdout.write(JSON.stringify({ files, hit }));`;
    const { stdout } = await run("docker", ["exec", containerName(userId), "node", "-e", walk, Buffer.from(PROVIDER_KEY).toString("base64")], { timeout: 60_000 });
    const result = JSON.parse(stdout);
    expect(result.files).toBeGreaterThan(0);
    expect(result.hit).toBe(false);
  }, 180_000);
});
