import { generateSigningKeyPair } from "@concierge/protocol";
import { Registry } from "prom-client";
import { createLogger } from "../src/logger";
import {
  AgentRequestError,
  AgentTimeoutError,
  AgentUnavailableError,
  ConnectionManager,
  type AgentTarget,
} from "../src/connections/connection-manager";
import { FakeAgent, FakeAgentError, sleep } from "../../test-support/fake-agent";

const keys = generateSigningKeyPair();
const logger = createLogger({ level: "silent" });

describe("ConnectionManager", () => {
  let agent: FakeAgent;
  let mgr: ConnectionManager;
  let target: AgentTarget;
  let registry: Registry;

  beforeEach(async () => {
    agent = await new FakeAgent({ sandboxId: "sbx-1", token: "tok-1", controlPlanePublicKeyPem: keys.publicKeyPem }).start();
    target = { sandboxId: "sbx-1", endpoint: agent.endpoint, token: "tok-1" };
    registry = new Registry();
    mgr = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, metrics: registry, requestTimeoutMs: 2000, connectTimeoutMs: 2000, pingIntervalMs: 200 });
  });
  afterEach(async () => {
    await mgr.closeAll();
    await agent.stop();
  });

  it("completes the signed handshake and answers a request", async () => {
    const r = await mgr.request(target, "chat.send", { idempotencyKey: "k1", channel: "whatsapp", text: "hi" });
    expect(r).toEqual({ reply: "echo: hi", llmCalls: 0 });
    expect(agent.handshakes).toBe(1);
  });

  it("is refused by an agent that expects another token, and does not keep dialing", async () => {
    const bad = { ...target, token: "wrong" };
    await expect(mgr.connect(bad, { timeoutMs: 1500 })).rejects.toMatchObject({ name: "AgentUnavailableError", closeCode: 4001 });
    expect(agent.refusals).toBe(1);
  });

  it("is refused when signed with another key", async () => {
    const other = new ConnectionManager({ signingPrivateKeyPem: generateSigningKeyPair().privateKeyPem, logger });
    await expect(other.connect(target, { timeoutMs: 1500 })).rejects.toBeInstanceOf(AgentUnavailableError);
    expect(agent.refusals).toBe(1);
    await other.closeAll();
  });

  it("shares one socket among concurrent callers, one dial for all", async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => mgr.request(target, "chat.send", { idempotencyKey: `c${i}`, channel: "whatsapp", text: `m${i}` })));
    expect(agent.handshakes).toBe(1);
    expect(mgr.openCount).toBe(1);
  });

  it("returns concurrent answers to the right callers even when the agent answers out of order", async () => {
    agent.handlers["chat.send"] = async (r) => {
      await sleep(Number(r.params.text) * 7);
      return { reply: `for ${r.params.text}` };
    };
    const order = Array.from({ length: 30 }, (_, i) => 30 - i);
    const replies = await Promise.all(order.map((n) => mgr.request(target, "chat.send", { idempotencyKey: `o${n}`, channel: "whatsapp", text: String(n) })));
    expect(replies.map((r) => r.reply)).toEqual(order.map((n) => `for ${n}`));
  });

  it("never hands a late heartbeat reply to a chat request", async () => {
    // The heartbeat times out; its answer arrives while a chat request is waiting on the same socket.
    agent.handlers["heartbeat.run"] = async () => {
      await sleep(300);
      return { send: true, text: "HEARTBEAT", due: [] };
    };
    agent.handlers["chat.send"] = async () => {
      await sleep(600);
      return { reply: "CHAT" };
    };
    const hb = mgr.request(target, "heartbeat.run", { idempotencyKey: "hb" }, { timeoutMs: 100 });
    const chat = mgr.request(target, "chat.send", { idempotencyKey: "chat", channel: "whatsapp", text: "x" });
    await expect(hb).rejects.toBeInstanceOf(AgentTimeoutError);
    await expect(chat).resolves.toEqual({ reply: "CHAT", llmCalls: 0 });
  });

  it("validates params before sending and results on arrival", async () => {
    await expect(mgr.request(target, "chat.send", { channel: "whatsapp", text: "x" } as never)).rejects.toMatchObject({ code: "bad_request" });
    expect(agent.received).toHaveLength(0);
    agent.handlers["chat.send"] = () => ({ nope: true });
    await expect(mgr.request(target, "chat.send", { idempotencyKey: "v", channel: "whatsapp", text: "x" })).rejects.toMatchObject({ code: "internal" });
  });

  it("surfaces the agent's ok:false as AgentRequestError with its code and retryable flag", async () => {
    agent.handlers["chat.send"] = () => {
      throw new FakeAgentError({ code: "busy", message: "try later", retryable: true });
    };
    const err = await mgr.request(target, "chat.send", { idempotencyKey: "e", channel: "whatsapp", text: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(AgentRequestError);
    expect(err).toMatchObject({ code: "busy", retryable: true });
  });

  it("fails in-flight requests when the socket drops, and reconnects on the next request", async () => {
    agent.handlers["chat.send"] = async (r) => {
      if (r.params.text === "slow") await sleep(5000);
      return { reply: "ok" };
    };
    const slow = mgr.request(target, "chat.send", { idempotencyKey: "s", channel: "whatsapp", text: "slow" });
    await sleep(100);
    agent.dropAll();
    await expect(slow).rejects.toBeInstanceOf(AgentUnavailableError);
    await expect(mgr.request(target, "chat.send", { idempotencyKey: "f", channel: "whatsapp", text: "fast" })).resolves.toMatchObject({ reply: "ok" });
    expect(agent.handshakes).toBe(2);
  });

  it("retries the dial with backoff until the agent comes up", async () => {
    const port = agent.port;
    await agent.stop();
    const pending = mgr.connect(target, { timeoutMs: 3000 });
    await sleep(400);
    agent.port = port;
    await agent.start();
    await expect(pending).resolves.toBeUndefined();
    const text = await registry.getSingleMetric("concierge_agent_dials_total")!.get();
    expect(text.values[0]!.value).toBeGreaterThan(1);
  });

  it("detects a dead socket by its missing pongs", async () => {
    await mgr.connect(target);
    agent.freeze();
    const started = Date.now();
    const r = mgr.request(target, "status", {}, { timeoutMs: 5000 });
    await expect(r).rejects.toThrow(/pings/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("keeps a frozen sandbox's socket open without pinging it, and answers on that socket once thawed", async () => {
    await mgr.connect(target);
    mgr.freeze("sbx-1");
    agent.freeze();
    await sleep(800); // four ping intervals: a pinged socket would have been dropped (the test above)
    expect(mgr.openCount).toBe(1);
    expect(mgr.isFrozen("sbx-1")).toBe(true);
    const r = mgr.request(target, "chat.send", { idempotencyKey: "f1", channel: "whatsapp", text: "hi" });
    agent.thaw();
    mgr.thaw("sbx-1");
    await expect(r).resolves.toEqual({ reply: "echo: hi", llmCalls: 0 });
    expect(agent.handshakes).toBe(1);
    await sleep(500); // pinged again, and answering
    expect(mgr.openCount).toBe(1);
  });

  it("close(sandbox) fails its in-flight requests with AgentUnavailableError", async () => {
    agent.handlers["chat.send"] = async () => {
      await sleep(5000);
      return { reply: "never" };
    };
    const p = mgr.request(target, "chat.send", { idempotencyKey: "z", channel: "whatsapp", text: "x" });
    await sleep(100);
    await mgr.close("sbx-1");
    await expect(p).rejects.toThrow(/stopped/);
    expect(mgr.openCount).toBe(0);
  });

  it("delivers known events validated, and drops malformed ones", async () => {
    const seen: [string, string, unknown][] = [];
    mgr.onEvent((s, e, p) => seen.push([s, e, p]));
    await mgr.connect(target);
    agent.emit("alarm.set", { at: "2026-01-01T10:00:00Z" });
    agent.emit("alarm.set", { at: 42 });
    agent.emit("custom.thing", { x: 1 });
    await sleep(100);
    expect(seen).toEqual([
      ["sbx-1", "alarm.set", { at: "2026-01-01T10:00:00Z" }],
      ["sbx-1", "custom.thing", { x: 1 }],
    ]);
  });

  it("reports open sockets, in-flight requests and latency", async () => {
    await mgr.request(target, "status", {});
    const text = await registry.metrics();
    expect(text).toMatch(/concierge_agent_sockets_open 1/);
    expect(text).toMatch(/concierge_agent_requests_in_flight 0/);
    expect(text).toMatch(/concierge_agent_request_duration_seconds_count\{method="status",outcome="ok"\} 1/);
  });
});
