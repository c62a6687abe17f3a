/**
 * The route bench's load generator, run by bench/route.ts as a child process (not a bench of its
 * own): the simulated users' webhook sender, the fake agent every sandbox points at, and the local
 * Graph API. It lives in its own process so that it does not take CPU from the control plane under
 * test, and so that the floor and the route are measured under the same conditions (the same
 * process boundaries: users, agent and provider outside, the control plane's work inside).
 *
 * Protocol over the IPC channel: it starts and sends `ready` (agent endpoint, Graph URL, the key
 * the control plane signs agent handshakes with); each `run` message is answered with the
 * latencies of that run.
 */
import { createServer } from "node:http";
import { Agent, request } from "undici";
import type { AddressInfo } from "node:net";
import { generateSigningKeyPair } from "@concierge/protocol";
import { signMetaPayload } from "../src/channels/whatsapp";
import { FakeAgent } from "../../test-support/fake-agent";
import { textWebhook } from "../../test-support/meta-samples";

export interface LoadReady {
  type: "ready";
  agentEndpoint: string;
  graphUrl: string;
  signingPrivateKeyPem: string;
}
export interface LoadRun {
  type: "run";
  /**
   * floor: POST base/floor; route: a signed WhatsApp webhook, done when the Graph API gets the
   * reply; warm: both, instant, from the warm-up's own users (`users` is ignored).
   */
  kind: "warm" | "floor" | "route";
  base: string;
  users: number;
  messages: number;
  appSecret: string;
  /** Added to the users' numbers: each of several measured runs meets its users for the first time. */
  userOffset?: number;
}
export interface LoadResult {
  type: "result";
  lat: number[];
  /** Route runs: from sending each webhook to its 200 (the message stored), in ms. */
  hook?: number[];
  /** Route runs, by message number (every user's first message, second, ...): hook and lat. */
  rounds?: { hook: number[]; lat: number[] }[];
  seconds: number;
  /** The load generator's own CPU over the run (ms), to see what the machine's other core did. */
  cpuMs: number;
  error?: string;
}
export interface LoadConfig {
  turnMs: number;
  accessToken: string;
}

/** The warm-up's users (numbered from 500,000); how many messages each sends is the run's `messages` (bench/route.ts). */
const WARM_USERS = 50;
/** Set while the warm-up runs: its turns are instant whatever --turn-ms says, so it takes seconds. */
let warming = false;

async function main(cfg: LoadConfig): Promise<void> {
  const keys = generateSigningKeyPair();
  const agent = await new FakeAgent({ tokenFor: (id) => `tok-${id}`, controlPlanePublicKeyPem: keys.publicKeyPem }).start();
  if (cfg.turnMs > 0) {
    // The route's turn, and the floor's agent call too: with --turn-ms the floor is what this
    // machine can do for the same load with no routing at all.
    for (const method of ["chat.send", "status"]) {
      const answer = agent.handlers[method]!;
      agent.handlers[method] = async (r, a) => {
        if (!warming) await new Promise((res) => setTimeout(res, cfg.turnMs));
        return answer(r, a);
      };
    }
  }

  // The Graph API's message endpoint, minimal: read receipts (with or without the typing indicator
  // folded in), and sends that resolve a waiter by text.
  const waiters = new Map<string, () => void>();
  const graph = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      res.setHeader("content-type", "application/json");
      if (req.headers.authorization !== `Bearer ${cfg.accessToken}`) return void res.writeHead(401).end("{}");
      if (body.status === "read") return void res.end(JSON.stringify({ success: true }));
      res.end(JSON.stringify({ messaging_product: "whatsapp", contacts: [{ input: body.to, wa_id: body.to }], messages: [{ id: `wamid.B${Math.random().toString(36).slice(2)}` }] }));
      if (body.type === "text") waiters.get(String(body.text?.body ?? "").replace(/^echo: /, ""))?.();
    });
  });
  await new Promise<void>((r) => graph.listen(0, "127.0.0.1", 4096, () => r()));
  const graphUrl = `http://127.0.0.1:${(graph.address() as AddressInfo).port}`;

  // The users' HTTP client: undici's request (cheaper than fetch), keep-alive, for floor and route alike.
  const http = new Agent({ keepAliveTimeout: 60_000 });
  let hooks: number[][] = [];
  const runUsers = async (users: number, messages: number, turn: (u: number, i: number) => Promise<number>) => {
    const rounds = Array.from({ length: messages }, () => ({ hook: [] as number[], lat: [] as number[] }));
    hooks = rounds.map((r) => r.hook);
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: users }, async (_, u) => {
        for (let i = 0; i < messages; i++) rounds[i]!.lat.push(await turn(u, i));
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    const hook = rounds.flatMap((r) => r.hook);
    return { lat: rounds.flatMap((r) => r.lat), ...(hook.length ? { hook, rounds } : {}), seconds: (performance.now() - started) / 1000, cpuMs: (cpu.user + cpu.system) / 1000 };
  };

  // Each floor user has its own sandbox (x-floor-user), as each route user has: one WebSocket per user.
  const floorTurn = (base: string, userOffset = 0) => async (u: number) => {
    const t0 = performance.now();
    await (await request(`${base}/floor`, { method: "POST", body: "x", headers: { "x-floor-user": String(userOffset + u) }, dispatcher: http })).body.arrayBuffer();
    return performance.now() - t0;
  };

  // Warm-up users are other people (an offset in their numbers): the measured run still meets each
  // of its users for the first time.
  const routeTurn = (base: string, appSecret: string, userOffset = 0) => async (u: number, i: number) => {
    const waId = `4915${String(100000 + userOffset + u)}`;
    const text = `m-${userOffset + u}-${i}`;
    const body = textWebhook({ waId, body: text, name: `User ${u}` });
    const t0 = performance.now();
    const replied = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply for ${text} within 120 s`)), 120_000);
      waiters.set(text, () => {
        clearTimeout(timer);
        waiters.delete(text);
        resolve();
      });
    });
    const res = await request(`${base}/whatsapp/webhook`, {
      method: "POST",
      dispatcher: http,
      headers: { "content-type": "application/json", "x-hub-signature-256": signMetaPayload(body, appSecret) },
      body,
    });
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}`);
    hooks[i]?.push(performance.now() - t0);
    await replied;
    return performance.now() - t0;
  };

  // Both sides alike, on users of their own (numbered from 500,000), every turn instant.
  const warmUp = async (m: LoadRun) => {
    warming = true;
    try {
      await runUsers(WARM_USERS, m.messages, floorTurn(m.base, 500_000));
      return await runUsers(WARM_USERS, m.messages, routeTurn(m.base, m.appSecret, 500_000));
    } finally {
      warming = false;
    }
  };

  process.on("message", (m: LoadRun) => {
    if (m.type !== "run") return;
    const run =
      m.kind === "warm"
        ? warmUp(m)
        : m.kind === "floor"
          ? runUsers(m.users, m.messages, floorTurn(m.base, m.userOffset))
          : runUsers(m.users, m.messages, routeTurn(m.base, m.appSecret, m.userOffset));
    run.then(
      (r) => process.send!({ type: "result", ...r } satisfies LoadResult),
      (err) => process.send!({ type: "result", lat: [], seconds: 0, cpuMs: 0, error: err instanceof Error ? err.stack : String(err) } satisfies LoadResult),
    );
  });
  // The parent going away (done, or killed) ends the load generator too.
  process.on("disconnect", () => {
    graph.closeAllConnections();
    graph.close();
    void agent.stop().finally(() => process.exit(0));
  });
  process.send!({ type: "ready", agentEndpoint: agent.endpoint, graphUrl, signingPrivateKeyPem: keys.privateKeyPem } satisfies LoadReady);
}

if (process.send) {
  main(JSON.parse(process.env.ROUTE_LOAD_CONFIG ?? "{}") as LoadConfig).catch((err) => {
    process.stderr.write(`route load generator failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
