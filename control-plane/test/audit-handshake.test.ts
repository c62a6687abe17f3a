import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { CloseCode, generateSigningKeyPair, verifyConnectProof } from "@concierge/protocol";
import { createLogger } from "../src/logger";
import { ConnectionManager } from "../src/connections/connection-manager";

const keys = generateSigningKeyPair();
const logger = createLogger({ level: "silent" });

describe("audit 15.19: the control plane sends the sandbox token in clear to whoever answers the agent port", () => {
  it("sends an impostor on the agent's port a proof it cannot replay, never the token", async () => {
    // Whoever holds the sandbox's address (a neighbour that took the port, a stale endpoint) answers
    // with a challenge of its own and records what the control plane sends back.
    const impostor = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    const received: string[] = [];
    impostor.on("connection", (ws) => {
      ws.send(JSON.stringify({ type: "challenge", nonce: randomBytes(24).toString("base64url"), ts: Date.now() }));
      ws.on("message", (data) => {
        received.push(data.toString());
        ws.close(CloseCode.unauthorized, "unauthorized");
      });
    });
    await new Promise<void>((r) => impostor.once("listening", () => r()));
    const token = `sbx_${randomBytes(32).toString("base64url")}`;
    const mgr = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, connectTimeoutMs: 2_000 });
    try {
      const endpoint = `ws://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
      await expect(mgr.connect({ sandboxId: "sbx-1", endpoint, token }, { timeoutMs: 2_000 })).rejects.toBeTruthy();
      expect(received).toHaveLength(1);
      expect(received[0]).not.toContain(token);
      const frame = JSON.parse(received[0]!);
      expect(frame.token).toBeUndefined();
      // What it got proves possession for this one challenge only.
      expect(verifyConnectProof(token, frame.sandboxId, frame.nonce, frame.ts, frame.proof)).toBe(true);
    } finally {
      await mgr.closeAll();
      await new Promise<void>((r) => impostor.close(() => r()));
    }
  });
});
