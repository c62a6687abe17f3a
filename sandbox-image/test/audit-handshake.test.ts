import { CloseCode, signConnect } from "@concierge/protocol";
import { RawAgentSocket } from "../../test-support/agent-client";
import { startTestGateway, statusAgent, type TestGateway } from "./gateway-fixture";

describe("audit 15.19: the agent accepts the sandbox token in clear (it must ask for a proof of it)", () => {
  let t: TestGateway;
  beforeEach(async () => {
    t = await startTestGateway(statusAgent(), { handshakeTimeoutMs: 400 });
  });
  afterEach(async () => {
    await t.close();
  });

  it("refuses a connect that carries the token itself instead of a proof", async () => {
    const s = await RawAgentSocket.open(t.url);
    try {
      const ch = await s.challenge();
      const ts = Date.now();
      s.send({
        type: "connect",
        protocolVersion: 2,
        sandboxId: t.creds.sandboxId,
        token: t.creds.token,
        proof: t.creds.token,
        nonce: ch.nonce,
        ts,
        signature: signConnect(t.creds.privateKeyPem, t.creds.sandboxId, ch.nonce, ts),
      });
      expect(await s.closedWithin()).toEqual({ code: CloseCode.unauthorized, reason: "unauthorized: bad token" });
    } finally {
      s.close();
    }
  });

  it("refuses a protocol 1 peer, which would send the token in clear", async () => {
    const s = await RawAgentSocket.open(t.url);
    try {
      const ch = await s.challenge();
      const ts = Date.now();
      s.send({ type: "connect", protocolVersion: 1, sandboxId: t.creds.sandboxId, token: t.creds.token, nonce: ch.nonce, ts, signature: signConnect(t.creds.privateKeyPem, t.creds.sandboxId, ch.nonce, ts) });
      expect((await s.closedWithin()).code).toBe(CloseCode.versionMismatch);
    } finally {
      s.close();
    }
  });
});
