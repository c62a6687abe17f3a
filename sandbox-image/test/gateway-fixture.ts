import { createPublicKey, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { generateSigningKeyPair, type MethodName } from "@concierge/protocol";
import { EventStream, GatewayServer, type GatewayAgent, type GatewayOptions } from "../src/gateway";
import type { AgentCredentials } from "../../test-support/agent-client";

/** A logger whose lines the test can read (to check what was, and was not, logged). */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

export interface TestGateway {
  gateway: GatewayServer;
  events: EventStream;
  url: string;
  creds: AgentCredentials;
  lines: string[];
  close(): Promise<void>;
}

/** A real gateway on a free loopback port, in front of the given agent, with fresh keys and token. */
export async function startTestGateway(
  agent: GatewayAgent,
  overrides: Partial<Pick<GatewayOptions, "handshakeTimeoutMs" | "pingIntervalMs" | "now" | "whenIdle">> = {},
): Promise<TestGateway> {
  const keys = generateSigningKeyPair();
  const creds: AgentCredentials = {
    sandboxId: `sbx-${randomBytes(4).toString("hex")}`,
    token: `sbx_${randomBytes(24).toString("base64url")}`,
    privateKeyPem: keys.privateKeyPem,
  };
  const { logger, lines } = capturingLogger();
  const events = new EventStream(logger);
  const gateway = await GatewayServer.start({
    identity: { sandboxId: creds.sandboxId, token: creds.token, controlPlanePublicKey: createPublicKey(keys.publicKeyPem) },
    agent,
    events,
    agentVersion: "0.1.0-test",
    logger,
    host: "127.0.0.1",
    port: 0,
    ...overrides,
  });
  return { gateway, events, url: `ws://127.0.0.1:${gateway.port}`, creds, lines, close: () => gateway.close(500) };
}

/** An agent that answers `status` and fails loudly on anything else. */
export function statusAgent(): GatewayAgent & { calls: MethodName[] } {
  const calls: MethodName[] = [];
  return {
    calls,
    async handle(method) {
      calls.push(method);
      if (method !== "status") throw new Error(`unexpected ${method}`);
      return { agentVersion: "0.1.0-test", protocolVersion: 1, uptimeSeconds: 1, rssBytes: 1, llmConfigured: false, nextAlarmAt: null, timezone: "UTC" };
    },
  };
}
