import { CloseCode, HelloFrame, Methods, PROTOCOL_VERSION, generateSigningKeyPair, signConnect } from "@concierge/protocol";
import { AgentClient, RawAgentSocket, signedConnect } from "../../test-support/agent-client";
import { startTestGateway, statusAgent, type TestGateway } from "./gateway-fixture";

describe("agent gateway handshake", () => {
  let t: TestGateway;
  const sockets: RawAgentSocket[] = [];
  const open = async () => {
    const s = await RawAgentSocket.open(t.url);
    sockets.push(s);
    return s;
  };

  beforeEach(async () => {
    t = await startTestGateway(statusAgent(), { handshakeTimeoutMs: 400 });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await t.close();
  });

  it("speaks first with a fresh challenge whose nonce is long and unique per connection", async () => {
    const a = await (await open()).challenge();
    const b = await (await open()).challenge();
    expect(a.nonce.length).toBeGreaterThanOrEqual(16);
    expect(a.nonce).not.toBe(b.nonce);
    expect(Math.abs(a.ts - Date.now())).toBeLessThan(5_000);
  });

  it("accepts a connect signed by the control plane's key and answers hello with version and capabilities", async () => {
    const client = await AgentClient.connect(t.url, t.creds);
    try {
      expect(HelloFrame.parse(client.helloFrame)).toEqual({
        type: "hello",
        protocolVersion: PROTOCOL_VERSION,
        agentVersion: "0.1.0-test",
        capabilities: Object.keys(Methods),
      });
      const res = await client.request("status", {});
      expect(res.ok).toBe(true);
    } finally {
      client.close();
    }
  });

  it("refuses a wrong token with 4001", async () => {
    const s = await open();
    s.send(signedConnect({ ...t.creds, token: `${t.creds.token}x` }, await s.challenge()));
    expect(await s.closedWithin()).toEqual({ code: CloseCode.unauthorized, reason: "unauthorized: bad token" });
  });

  it("refuses a connect signed with another key with 4001", async () => {
    const s = await open();
    const other = generateSigningKeyPair();
    s.send(signedConnect({ ...t.creds, privateKeyPem: other.privateKeyPem }, await s.challenge()));
    expect(await s.closedWithin()).toEqual({ code: CloseCode.unauthorized, reason: "unauthorized: bad signature" });
  });

  it("refuses a connect meant for another sandbox, even with a valid signature for it, with 4001", async () => {
    const s = await open();
    s.send(signedConnect({ ...t.creds, sandboxId: "sbx-someone-else" }, await s.challenge()));
    expect(await s.closedWithin()).toEqual({ code: CloseCode.unauthorized, reason: "unauthorized: wrong sandbox" });
  });

  it("refuses a signature over different bytes than the frame carries (ts changed after signing)", async () => {
    const s = await open();
    const frame = signedConnect(t.creds, await s.challenge());
    s.send({ ...frame, ts: frame.ts + 1 });
    expect((await s.closedWithin()).code).toBe(CloseCode.unauthorized);
  });

  it("refuses a stale timestamp with 4002 even when correctly signed", async () => {
    const s = await open();
    s.send(signedConnect(t.creds, await s.challenge(), Date.now() - 120_000));
    const closed = await s.closedWithin();
    expect(closed.code).toBe(CloseCode.staleHandshake);
    expect(closed.reason).toMatch(/timestamp/);
  });

  it("refuses a replayed connect (a nonce already used on another connection) with 4002", async () => {
    const first = await open();
    const connect = signedConnect(t.creds, await first.challenge());
    first.send(connect);
    await first.hello();

    const second = await open();
    await second.challenge();
    second.send(connect);
    const closed = await second.closedWithin();
    expect(closed.code).toBe(CloseCode.staleHandshake);
    expect(closed.reason).toMatch(/nonce/);
  });

  it("refuses another protocol version with 4003", async () => {
    const s = await open();
    const c = await s.challenge();
    s.send({ ...signedConnect(t.creds, c), protocolVersion: PROTOCOL_VERSION + 1 });
    const closed = await s.closedWithin();
    expect(closed.code).toBe(CloseCode.versionMismatch);
    expect(closed.reason).toMatch(/version/);
  });

  it("closes with 4008 when no connect arrives within the handshake timeout", async () => {
    const s = await open();
    await s.challenge();
    expect(await s.closedWithin(3_000)).toEqual({ code: CloseCode.handshakeTimeout, reason: "handshake timeout" });
  });

  it("refuses a request sent before the handshake, and garbage, with a protocol error", async () => {
    const a = await open();
    await a.challenge();
    a.send({ type: "req", id: "1", method: "status", params: {} });
    expect((await a.closedWithin()).code).toBe(CloseCode.protocolError);

    const b = await open();
    await b.challenge();
    b.send("not json at all");
    expect((await b.closedWithin()).code).toBe(CloseCode.protocolError);
  });

  it("never lets a refused socket make requests, and never logs the token", async () => {
    const agent = statusAgent();
    const local = await startTestGateway(agent);
    try {
      const s = await RawAgentSocket.open(local.url);
      sockets.push(s);
      const c = await s.challenge();
      const bad = { ...signedConnect(local.creds, c), signature: signConnect(generateSigningKeyPair().privateKeyPem, local.creds.sandboxId, c.nonce, Date.now()) };
      s.send(bad);
      // Whatever arrives after the refusal must not reach the agent.
      s.send({ type: "req", id: "after", method: "status", params: {} });
      expect((await s.closedWithin()).code).toBe(CloseCode.unauthorized);
      expect(agent.calls).toEqual([]);
      expect(local.lines.join("")).toContain("handshake refused");
      expect(local.lines.join("")).not.toContain(local.creds.token);
    } finally {
      await local.close();
    }
  });
});
