import WebSocket from "ws";
import { CloseCode, MAX_FRAME_BYTES, type MethodName, type ResponseFrame } from "@concierge/protocol";
import { AgentError } from "../src/agent-error";
import { INTERNAL_ERROR_MESSAGE, type GatewayAgent } from "../src/gateway";
import { AgentClient, RawAgentSocket, signedConnect } from "../../test-support/agent-client";
import { startTestGateway, statusAgent, type TestGateway } from "./gateway-fixture";

/**
 * Holds workspace.read calls until `batch` of them are waiting, then answers them in reverse order
 * of arrival: responses can only be matched if the gateway answers by id, not by order.
 */
function reversingAgent(batch: number): GatewayAgent & { seen: string[] } {
  const seen: string[] = [];
  const waiting: { path: string; resolve: (v: unknown) => void }[] = [];
  return {
    seen,
    async handle(method: MethodName, params: unknown) {
      if (method === "status") return statusAgent().handle("status", {});
      if (method === "data.export") throw new AgentError("busy", "an export is already running", true);
      if (method === "workspace.list") return { files: "not an array" };
      if (method === "workspace.write") {
        const err = new Error("sqlite exploded at /data/agent.db with secret-ish detail");
        throw err;
      }
      const { path } = params as { path: string };
      seen.push(path);
      return new Promise((resolve) => {
        waiting.push({ path, resolve });
        if (waiting.length === batch) {
          waiting.splice(0).reverse().forEach((w, i) => setTimeout(() => w.resolve({ path: w.path, content: `content of ${w.path}` }), i * 40));
        }
      });
    },
  };
}

describe("agent gateway session", () => {
  let t: TestGateway;
  let client: AgentClient;

  beforeEach(async () => {
    t = await startTestGateway(reversingAgent(3));
    client = await AgentClient.connect(t.url, t.creds);
  });
  afterEach(async () => {
    client.close();
    await t.close();
  });

  const responses = () => client.socket.frames.filter((f): f is ResponseFrame => (f as ResponseFrame).type === "res");

  it("answers concurrent requests on one socket by id, whatever order the agent finishes them in", async () => {
    const ids = ["r-a", "r-b", "r-c"];
    const pending = ids.map((id, i) => client.request("workspace.read", { path: `file-${i}.md` }, { id }));
    const results = await Promise.all(pending);
    results.forEach((res, i) => {
      expect(res).toEqual({ type: "res", id: ids[i], ok: true, payload: { path: `file-${i}.md`, content: `content of file-${i}.md` } });
    });
    // They really did come back in reverse: the gateway matched by id, not by arrival order.
    expect(responses().map((r) => r.id)).toEqual(["r-c", "r-b", "r-a"]);
  });

  it("answers malformed frames with error responses and keeps the socket up", async () => {
    const s = client.socket;
    s.send("{not json");
    s.send("[1,2,3]");
    s.send("42");
    s.send({ type: "req", method: "status", params: {} }); // no id
    s.send({ type: "req", id: "no-method", params: {} });
    s.send({ type: "event", event: "log", payload: {}, seq: 1 });
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await s.next((f): f is ResponseFrame => responses().length >= 7, 3_000);
    const errs = responses();
    expect(errs.every((r) => r.ok === false && r.error.code === "bad_request")).toBe(true);
    expect(errs.map((r) => r.id).sort()).toEqual(["no-method", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown"]);
    // Still alive and serving.
    expect((await client.request("status", {})).ok).toBe(true);
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("says method_not_found for an unknown method and bad_request for invalid params, with the request's id", async () => {
    const unknown = await client.request("shell.exec", { cmd: "id" }, { id: "m1" });
    expect(unknown).toMatchObject({ id: "m1", ok: false, error: { code: "method_not_found" } });
    const invalid = await client.request("workspace.read", { path: 42 }, { id: "m2" });
    expect(invalid).toMatchObject({ id: "m2", ok: false, error: { code: "bad_request" } });
    if (!invalid.ok) expect(invalid.error.message).toMatch(/path/);
  });

  it("passes the agent's expected failures through with their code and retryable flag", async () => {
    const res = await client.request("data.export", {});
    expect(res).toMatchObject({ ok: false, error: { code: "busy", message: "an export is already running", retryable: true } });
  });

  it("turns an agent exception into a generic internal error: the stack is logged, never sent", async () => {
    const res = await client.request("workspace.write", { path: "SOUL.md", content: "x" });
    expect(res).toMatchObject({ ok: false, error: { code: "internal", message: INTERNAL_ERROR_MESSAGE } });
    const wire = JSON.stringify(res);
    expect(wire).not.toMatch(/sqlite exploded|\/data\/agent\.db|at .*\.ts:\d+/);
    const logs = t.lines.join("");
    expect(logs).toContain("sqlite exploded");
    expect(logs).toMatch(/"stack":".*gateway-session\.test\.ts/);
  });

  it("never sends a result that breaks the protocol", async () => {
    const res = await client.request("workspace.list", {});
    expect(res).toMatchObject({ ok: false, error: { code: "internal", message: INTERNAL_ERROR_MESSAGE } });
  });

  it("closes the socket with 1009 on a frame larger than MAX_FRAME_BYTES", async () => {
    client.socket.send({ type: "req", id: "big", method: "chat.send", params: { text: "x".repeat(MAX_FRAME_BYTES) } });
    const closed = await client.socket.closedWithin(5_000);
    expect(closed.code).toBe(CloseCode.tooBig);
  });

  it("sends agent events to every authenticated socket with a rising seq", async () => {
    const second = await AgentClient.connect(t.url, t.creds);
    try {
      t.events.emit("alarm.set", { at: "2026-03-01T09:00:00+01:00" });
      t.events.emit("log", { level: "info", msg: "hi" });
      t.events.emit("alarm.set", { at: "not a time" }); // breaks the contract: dropped
      t.events.emit("no.such.event", {}); // not in the protocol: dropped
      for (const c of [client, second]) {
        await c.socket.next((f): f is unknown => c.events.length >= 2, 3_000);
      }
      await new Promise((r) => setTimeout(r, 100));
      for (const c of [client, second]) {
        expect(c.events.map((e) => [e.event, e.seq])).toEqual([["alarm.set", 0], ["log", 1]]);
      }
      // Both sockets serve requests independently.
      expect((await second.request("status", {})).ok).toBe(true);
    } finally {
      second.close();
    }
  });
});

describe("agent gateway lifecycle", () => {
  it("holds events emitted while nobody is connected and delivers them to the first session", async () => {
    const t = await startTestGateway(statusAgent());
    try {
      t.events.emit("alarm.set", { at: null });
      const client = await AgentClient.connect(t.url, t.creds);
      await client.socket.next((f): f is unknown => client.events.length >= 1, 3_000);
      expect(client.events[0]).toEqual({ type: "event", event: "alarm.set", payload: { at: null }, seq: 0 });
      client.close();
    } finally {
      await t.close();
    }
  });

  it("terminates a socket that stops answering pings, and keeps one that answers", async () => {
    const t = await startTestGateway(statusAgent(), { pingIntervalMs: 100 });
    const healthy = await AgentClient.connect(t.url, t.creds);
    // A peer that never pongs: ws's autoPong disabled, as if the control plane's side hung.
    const mute = new WebSocket(t.url, { autoPong: false });
    try {
      const closed = new Promise<number>((resolve) => mute.on("close", (code) => resolve(code)));
      const frames: unknown[] = [];
      mute.on("message", (d) => {
        const f = JSON.parse(d.toString());
        frames.push(f);
        if (f.type === "challenge") mute.send(JSON.stringify(signedConnect(t.creds, f)));
      });
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([closed, new Promise<number>((_, rej) => (timer = setTimeout(() => rej(new Error("mute socket not terminated")), 3_000)))]);
      clearTimeout(timer);
      expect(code).toBe(1006); // terminated, no close frame
      expect(frames.some((f) => (f as { type: string }).type === "hello")).toBe(true);
      expect(healthy.socket.ws.readyState).toBe(WebSocket.OPEN);
      expect((await healthy.request("status", {})).ok).toBe(true);
    } finally {
      mute.terminate();
      healthy.close();
      await t.close();
    }
  });

  it("answers an in-flight request before closing on shutdown", async () => {
    let release: () => void = () => undefined;
    const slow: GatewayAgent = {
      handle: () => new Promise((resolve) => (release = () => resolve({ path: "a", content: "done" }))),
    };
    const t = await startTestGateway(slow);
    const client = await AgentClient.connect(t.url, t.creds);
    const answer = client.request("workspace.read", { path: "a" });
    await new Promise((r) => setTimeout(r, 50));
    const closing = t.gateway.close(2_000);
    // While draining, new work is refused as retryable, not started.
    expect(await client.request("status", {}, { id: "late" })).toMatchObject({ id: "late", ok: false, error: { code: "busy", retryable: true } });
    setTimeout(() => release(), 100);
    expect(await answer).toMatchObject({ ok: true, payload: { content: "done" } });
    await closing;
    expect((await client.socket.closedWithin()).code).toBe(1001);
    // No new connections once closed.
    await expect(RawAgentSocket.open(t.url, 1_000)).rejects.toThrow();
  });
});
