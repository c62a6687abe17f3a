import type { GatewayAgent } from "../src/gateway";
import { compactHeap } from "../src/compact-heap";
import { AgentClient } from "../../test-support/agent-client";
import { waitFor } from "../../test-support/wait-for";
import { startTestGateway, statusAgent, type TestGateway } from "./gateway-fixture";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const AFTER_MS = 300;

/** `status` at once; `workspace.read` held until the test releases it (a long turn). */
function holdingAgent(): GatewayAgent & { release: () => void } {
  let release = () => {};
  return {
    release: () => release(),
    async handle(method, params) {
      if (method === "workspace.read") {
        await new Promise<void>((r) => (release = r));
        return { path: (params as { path: string }).path, content: "" };
      }
      return statusAgent().handle("status", {});
    },
  };
}

describe("gateway: the idle task (whenIdle)", () => {
  let t: TestGateway;
  let runs: number;
  let agent: ReturnType<typeof holdingAgent>;

  beforeEach(async () => {
    runs = 0;
    agent = holdingAgent();
    t = await startTestGateway(agent, { whenIdle: { afterMs: AFTER_MS, run: () => void runs++ } });
  });
  afterEach(() => t.close());

  const connect = () => AgentClient.connect(t.url, t.creds);

  it("runs once after the gateway has been quiet, and again only after new traffic", async () => {
    await waitFor(() => runs === 1, 5_000, "the idle task after start");
    await sleep(AFTER_MS * 3);
    expect(runs).toBe(1);
    const client = await connect();
    await waitFor(() => runs === 2, 5_000, "the idle task after the handshake");
    await client.call("status", {});
    await waitFor(() => runs === 3, 5_000, "the idle task after a request");
    await sleep(AFTER_MS * 3);
    expect(runs).toBe(3);
    client.close();
  });

  it("waits while requests keep coming, and while one is still running", async () => {
    await waitFor(() => runs === 1, 5_000, "the idle task after start");
    const client = await connect();
    // A request every 50 ms for three idle periods: never quiet for AFTER_MS.
    for (let i = 0; i < 18; i++) {
      await client.call("status", {});
      await sleep(50);
    }
    expect(runs).toBe(1);
    const long = client.request("workspace.read", { path: "a.md" });
    await sleep(AFTER_MS * 3);
    expect(runs).toBe(1);
    agent.release();
    expect((await long).ok).toBe(true);
    await waitFor(() => runs === 2, 5_000, "the idle task after the long request ended");
    client.close();
  });

  it("keeps running requests when the idle task throws", async () => {
    await t.close();
    t = await startTestGateway(agent, {
      whenIdle: {
        afterMs: 50,
        run: () => {
          runs++;
          throw new Error("boom");
        },
      },
    });
    await waitFor(() => runs >= 1, 5_000, "the failing idle task");
    const client = await connect();
    expect((await client.request("status", {})).ok).toBe(true);
    expect(t.lines.join("")).toContain("idle task failed");
    client.close();
  });
});

describe("compactHeap", () => {
  it("runs V8's most thorough collection when gc is exposed, and nothing otherwise", () => {
    const calls: unknown[] = [];
    const gc = ((opts?: unknown) => void calls.push(opts)) as NodeJS.GCFunction;
    expect(compactHeap(gc)).toBe(true);
    expect(calls).toEqual([{ type: "major", execution: "sync", flavor: "last-resort" }]);
    expect(compactHeap(undefined)).toBe(false);
  });
});
