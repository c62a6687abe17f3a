import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { generateSigningKeyPair } from "@concierge/protocol";
import { AgentEnvError, parseAgentEnv } from "../src/env";
import { AgentClient } from "../../test-support/agent-client";

/** The compiled agent, or its esbuild bundle when the suite runs against the bundle. */
const MAIN = path.resolve(__dirname, process.env.AGENT_UNDER_TEST === "bundle" ? "../bundle/main.js" : "../dist/main.js");
const keys = generateSigningKeyPair();
const token = `sbx_${randomBytes(24).toString("base64url")}`;
const baseEnv = {
  SANDBOX_ID: "sbx-proc",
  SANDBOX_TOKEN: token,
  CONTROL_PLANE_PUBLIC_KEY: Buffer.from(keys.publicKeyPem).toString("base64"),
};

describe("agent environment", () => {
  const defaults = { templatesDir: "/templates" };

  it("applies the documented defaults and stays offline without an LLM", () => {
    const c = parseAgentEnv(baseEnv, defaults);
    expect(c).toMatchObject({ sandboxId: "sbx-proc", token, dataDir: "/data", templatesDir: "/templates", host: "0.0.0.0", port: 18789, timezone: "UTC", logLevel: "info" });
    expect(c.llm).toBeUndefined();
    expect(c.controlPlanePublicKey.asymmetricKeyType).toBe("ed25519");
  });

  it("configures the LLM only with both base URL and model, and uses the sandbox token as its key", () => {
    expect(parseAgentEnv({ ...baseEnv, LLM_BASE_URL: "http://10.0.0.1:3001/llm/v1" }, defaults).llm).toBeUndefined();
    expect(parseAgentEnv({ ...baseEnv, LLM_MODEL: "gpt-x" }, defaults).llm).toBeUndefined();
    const c = parseAgentEnv({ ...baseEnv, LLM_BASE_URL: "http://10.0.0.1:3001/llm/v1", LLM_MODEL: "gpt-x", LLM_HEARTBEAT_MODEL: "gpt-mini" }, defaults);
    expect(c.llm).toEqual({ baseURL: "http://10.0.0.1:3001/llm/v1", apiKey: token, model: "gpt-x", heartbeatModel: "gpt-mini" });
  });

  it("accepts the key as plain PEM too, and reads port, host, timezone and user name", () => {
    const c = parseAgentEnv({ ...baseEnv, CONTROL_PLANE_PUBLIC_KEY: keys.publicKeyPem, AGENT_PORT: "0", AGENT_HOST: "127.0.0.1", USER_TIMEZONE: "Europe/Berlin", USER_NAME: "Ada" }, defaults);
    expect(c).toMatchObject({ port: 0, host: "127.0.0.1", timezone: "Europe/Berlin", userName: "Ada" });
  });

  it("accepts every zone name ICU knows, not only its canonical list: UTC, aliases, old names", () => {
    // ICU's canonical list (the fast check) lacks UTC, Etc/UTC, Asia/Kolkata and US/Eastern; the
    // general check takes them.
    for (const tz of ["UTC", "Etc/UTC", "Asia/Kolkata", "Asia/Calcutta", "US/Eastern", "Europe/Kiev", "Europe/Kyiv"]) {
      expect(parseAgentEnv({ ...baseEnv, USER_TIMEZONE: tz }, defaults).timezone).toBe(tz);
    }
    expect(() => parseAgentEnv({ ...baseEnv, USER_TIMEZONE: "Europe/Atlantis" }, defaults)).toThrow(/USER_TIMEZONE is not an IANA time zone/);
  });

  it("names every problem and never echoes a value", () => {
    let err: unknown;
    try {
      parseAgentEnv({ SANDBOX_ID: "x", SANDBOX_TOKEN: "short-secret", CONTROL_PLANE_PUBLIC_KEY: "x", USER_TIMEZONE: "Mars/Olympus", AGENT_PORT: "99999" }, defaults);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentEnvError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/SANDBOX_TOKEN/);
    expect(msg).toMatch(/USER_TIMEZONE/);
    expect(msg).toMatch(/AGENT_PORT/);
    expect(msg).not.toContain("short-secret");
    expect(() => parseAgentEnv({ ...baseEnv, CONTROL_PLANE_PUBLIC_KEY: Buffer.from("not a key").toString("base64") }, defaults)).toThrow(/CONTROL_PLANE_PUBLIC_KEY/);
    const rsa = require("node:crypto").generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" });
    expect(() => parseAgentEnv({ ...baseEnv, CONTROL_PLANE_PUBLIC_KEY: rsa }, defaults)).toThrow(/Ed25519/);
  });
});

/** Output of a child process, collected; waits are bounded. */
function collect(child: ChildProcess): { out: () => string; err: () => string; exited: Promise<number | null> } {
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { out: () => out, err: () => err, exited };
}

/** The exit code, or "still running" after timeoutMs (the timer is cleared either way). */
async function exitWithin(exited: Promise<number | null>, timeoutMs: number): Promise<number | null | "still running"> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([exited, new Promise<"still running">((r) => (t = setTimeout(() => r("still running"), timeoutMs)))]);
  } finally {
    clearTimeout(t);
  }
}

async function until<T>(fn: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The agent's "agent process ready" log line, once it is there. */
function readyLine(io: { out: () => string; err: () => string }): Promise<{ msg: string; port: number } & Record<string, unknown>> {
  return until(
    () => io.out().split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === "agent process ready"),
    20_000,
    `"agent process ready" (stderr: ${io.err()})`,
  );
}

/** How the test run itself was started (CI's Node 24 pass preloads its better-sqlite3 redirect). */
const inherited = Object.fromEntries(["NODE_OPTIONS", "AGENT_SQLITE_DIR"].filter((k) => process.env[k]).map((k) => [k, process.env[k]]));

describe("agent process (node sandbox-image/dist/main.js)", () => {
  let dataDir: string;
  let child: ChildProcess | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "agent-proc-"));
  });
  afterEach(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    child = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("starts from its environment, accepts the control plane, logs JSON without the token, and exits 0 on SIGTERM", async () => {
    child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, ...inherited, ...baseEnv, AGENT_HOST: "127.0.0.1", AGENT_PORT: "0", AGENT_DATA_DIR: dataDir, LOG_LEVEL: "debug" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const io = collect(child);
    const ready = await readyLine(io);
    const client = await AgentClient.connect(`ws://127.0.0.1:${ready.port}`, { sandboxId: baseEnv.SANDBOX_ID, token, privateKeyPem: keys.privateKeyPem });
    expect(client.helloFrame.type).toBe("hello");
    const closed = client.socket.closed;
    child.kill("SIGTERM");
    expect(await exitWithin(io.exited, 10_000)).toBe(0);
    expect((await closed).code).toBe(1001);
    const lines = io.out().split("\n").filter(Boolean);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(io.out()).not.toContain(token);
    expect(io.out()).toContain("control plane connected");
    expect(io.out()).toContain("stopping");
  });

  it("compacts its heap once the gateway has been idle, when Node exposes gc (the image's --expose-gc), and only then", async () => {
    const start = (exposeGc: boolean) => {
      const nodeOptions = [inherited.NODE_OPTIONS, exposeGc ? "--expose-gc" : undefined].filter(Boolean).join(" ");
      const proc = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH, ...inherited, NODE_OPTIONS: nodeOptions, ...baseEnv, AGENT_HOST: "127.0.0.1", AGENT_PORT: "0", AGENT_DATA_DIR: dataDir, LOG_LEVEL: "debug" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      return { proc, io: collect(proc) };
    };
    const logLines = (out: string) => out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { msg: string; ms?: number });
    const withGc = start(true);
    child = withGc.proc;
    const ready = await readyLine(withGc.io);
    const client = await AgentClient.connect(`ws://127.0.0.1:${ready.port}`, { sandboxId: baseEnv.SANDBOX_ID, token, privateKeyPem: keys.privateKeyPem });
    const connectedAt = logLines(withGc.io.out()).findIndex((l) => l.msg === "control plane connected");
    // Once after start (idle before anyone connected), once after the handshake: not before it.
    await until(() => (logLines(withGc.io.out()).slice(connectedAt).some((l) => l.msg === "idle: heap compacted") ? true : undefined), 15_000, "the heap compacted after the handshake");
    expect(logLines(withGc.io.out()).find((l) => l.msg === "idle: heap compacted")?.ms).toEqual(expect.any(Number));
    client.close();
    withGc.proc.kill("SIGTERM");
    expect(await exitWithin(withGc.io.exited, 10_000)).toBe(0);

    const withoutGc = start(false);
    child = withoutGc.proc;
    const ready2 = await readyLine(withoutGc.io);
    const client2 = await AgentClient.connect(`ws://127.0.0.1:${ready2.port}`, { sandboxId: baseEnv.SANDBOX_ID, token, privateKeyPem: keys.privateKeyPem });
    await new Promise((r) => setTimeout(r, 3_000));
    client2.close();
    expect(logLines(withoutGc.io.out()).map((l) => l.msg)).not.toContain("idle: heap compacted");
    withoutGc.proc.kill("SIGTERM");
    expect(await exitWithin(withoutGc.io.exited, 10_000)).toBe(0);
  }, 60_000);

  it("refuses to start on a bad environment with one message naming the problem, not the value", async () => {
    child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, ...inherited, ...baseEnv, SANDBOX_TOKEN: "tiny-secret", AGENT_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const io = collect(child);
    expect(await exitWithin(io.exited, 10_000)).toBe(1);
    expect(io.err()).toMatch(/SANDBOX_TOKEN/);
    expect(io.err() + io.out()).not.toContain("tiny-secret");
  });
});

/**
 * The image's start (its CMD): the bundle's startup snapshot (sandbox-image/snapshot.js). Built
 * here from the bundle when the suite runs against it on a Node that builds such snapshots (CI's
 * Node 24 pass); the Docker image test checks the image's own blob. What this proves beyond the
 * script start: the deferred modules (better-sqlite3's binding, node:http) load on first use after
 * deserialization, the environment is the process's own and not the builder's, and a turn works.
 */
const SNAPSHOTS = process.env.AGENT_UNDER_TEST === "bundle" && Number(process.versions.node.split(".")[0]) >= 22;
if (!SNAPSHOTS) process.stdout.write("SKIPPED (needs the bundle on Node >= 22): agent process from its startup snapshot\n");
(SNAPSHOTS ? describe : describe.skip)("agent process from its startup snapshot (the image's CMD)", () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "agent-snap-"));
  });
  afterEach(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    child = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("starts from the snapshot with this process's environment, answers a turn and its status, and exits 0 on SIGTERM", async () => {
    const blob = path.join(dir, "agent.blob");
    // The builder gets no preload: a user module loaded while building would void the snapshot.
    execFileSync(process.execPath, [path.resolve(__dirname, "../snapshot.js"), MAIN, blob], { env: { PATH: process.env.PATH, SANDBOX_ID: "builder-must-not-leak" }, stdio: "pipe" });
    const dataDir = path.join(dir, "data");
    child = spawn(process.execPath, ["--snapshot-blob", blob], {
      env: { PATH: process.env.PATH, ...inherited, ...baseEnv, AGENT_HOST: "127.0.0.1", AGENT_PORT: "0", AGENT_DATA_DIR: dataDir, USER_TIMEZONE: "Europe/Berlin" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const io = collect(child);
    const ready = await readyLine(io);
    expect(ready).toMatchObject({ startedFrom: "snapshot", sandboxId: baseEnv.SANDBOX_ID, timezone: "Europe/Berlin", dataDir });
    const client = await AgentClient.connect(`ws://127.0.0.1:${ready.port}`, { sandboxId: baseEnv.SANDBOX_ID, token, privateKeyPem: keys.privateKeyPem });
    const turn = await client.request("chat.send", { idempotencyKey: "snap-1", channel: "whatsapp", text: "remind me to call Ada tomorrow at 9am" });
    expect(turn).toMatchObject({ ok: true });
    const status = await client.request("status", {});
    expect(status).toMatchObject({ ok: true, payload: { timezone: "Europe/Berlin", llmConfigured: false } });
    // The turn wrote to SQLite: the binding loaded after deserialization, in this process.
    expect((status as { payload: { nextAlarmAt: string | null } }).payload.nextAlarmAt).toEqual(expect.any(String));
    child.kill("SIGTERM");
    expect(await exitWithin(io.exited, 10_000)).toBe(0);
    expect(io.out()).not.toContain("builder-must-not-leak");
    client.close();
  }, 60_000);
});

