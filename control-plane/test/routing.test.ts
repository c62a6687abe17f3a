import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { sql } from "drizzle-orm";
import { generateSigningKeyPair } from "@concierge/protocol";
import { createLogger } from "../src/logger";
import { openDatabase, rows, type Database } from "../src/db/database";
import { users } from "../src/db/schema";
import { ConnectionManager } from "../src/connections/connection-manager";
import { Inbox } from "../src/inbox/inbox";
import { Dispatcher } from "../src/inbox/dispatcher";
import { messageHandler } from "../src/inbox/message-handler";
import { createAgentPort } from "../src/agent-port";
import { Outbox } from "../src/outbox/outbox";
import type { ChannelAdapter, OutboundRow } from "../src/outbox/types";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { FakeAgent, sleep } from "../../test-support/fake-agent";
import { FakeProvider } from "../../test-support/fake-provider";
import { waitFor } from "../../test-support/wait-for";

/**
 * The routing promise end to end on real PostgreSQL: every accepted event is answered once, in
 * order per user, with two control planes on one database and through a SIGKILL.
 */
const logger = createLogger({ level: "silent" });
const keys = generateSigningKeyPair();
const ROOT = path.resolve(__dirname, "../..");

const describePostgres = process.env.DATABASE_URL ? describe : describe.skip;
if (!process.env.DATABASE_URL) process.stdout.write("SKIPPED (no DATABASE_URL): routing on PostgreSQL\n");

async function makeUsers(db: Database, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i += 250) {
    const batch = Array.from({ length: Math.min(250, n - i) }, (_, j) => ({ name: `u${i + j}` }));
    out.push(...(await db.db.insert(users).values(batch).returning({ id: users.id })).map((r) => r.id));
  }
  return out;
}

async function openCount(db: Database): Promise<number> {
  const [r] = await rows<{ n: number }>(db.db, sql`SELECT count(*)::int AS n FROM inbox_events WHERE status <> 'done'`);
  return r!.n;
}

describePostgres("routing on PostgreSQL", () => {
  let t: TestDatabase;
  let agent: FakeAgent;

  beforeEach(async () => {
    t = await createTestDatabase("postgres");
    agent = await new FakeAgent({ tokenFor: (id) => `tok-${id}`, controlPlanePublicKeyPem: keys.publicKeyPem }).start();
  });
  afterEach(async () => {
    await agent.stop();
    await t.cleanup();
  });

  it("answers 500 users x 20 events exactly once, in order per user, with two dispatchers", async () => {
    const USERS = 500;
    const EVENTS = 20;
    const ids = await makeUsers(t.database, USERS);
    const sent: OutboundRow[] = [];
    const adapter: ChannelAdapter = { channel: "whatsapp", send: async (row) => (sent.push(row), { providerId: `p-${row.id}` }) };
    // Two "processes": separate pools, dispatchers, senders and connection pools on one database.
    const processes = [
      await openDatabase({ databaseUrl: t.url!, dataDir: ":memory:", poolSize: 24 }),
      await openDatabase({ databaseUrl: t.url!, dataDir: ":memory:", poolSize: 24 }),
    ];
    const parts = processes.map((database) => {
      const connections = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, requestTimeoutMs: 10_000 });
      const outbox = new Outbox({ database, logger, concurrency: 8, retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 100 }, pollIntervalMs: 200 });
      outbox.registerAdapter(adapter);
      const dispatcher = new Dispatcher({ database, outbox, logger, concurrency: 16, leaseSeconds: 30, retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 100 }, pollIntervalMs: 200 });
      const sandboxes = { ensure: async (userId: string) => ({ userId, sandboxId: `sbx-${userId}`, endpoint: agent.endpoint, token: `tok-sbx-${userId}` }) };
      dispatcher.handle("message", messageHandler({ agent: createAgentPort({ sandboxes, connections }) }));
      return { connections, outbox, dispatcher };
    });
    const started = Date.now();
    try {
      for (const p of parts) await Promise.all([p.dispatcher.start(), p.outbox.start()]);
      const inbox = new Inbox();
      // The burst: event i of every user, one webhook-sized transaction per 50 users.
      // Webhooks for different users arrive side by side; one user's event i+1 only after event i.
      for (let i = 0; i < EVENTS; i++) {
        const chunks = Array.from({ length: USERS / 50 }, (_, c) => ids.slice(c * 50, c * 50 + 50));
        await Promise.all(
          chunks.map((chunk) =>
            t.database.db.transaction(async (tx) => {
              for (const userId of chunk) await inbox.enqueue(tx, { userId, channel: "whatsapp", kind: "message", providerId: `w-${userId}-${i}`, payload: { text: String(i) } });
            }),
          ),
        );
      }
      process.stdout.write(`routing: burst enqueued in ${Date.now() - started} ms, ${sent.length} answered by then\n`);
      await waitFor(() => sent.length >= USERS * EVENTS, 180_000, "every reply");
      await sleep(300);
    } finally {
      for (const p of parts) {
        await p.dispatcher.stop();
        await p.outbox.stop();
        await p.connections.closeAll();
      }
      for (const d of processes) await d.close();
    }
    const elapsed = Date.now() - started;
    process.stdout.write(`routing: ${USERS * EVENTS} events in ${elapsed} ms with two dispatchers\n`);

    // Answered exactly once: one agent run per event, one send per event.
    expect(sent).toHaveLength(USERS * EVENTS);
    expect([...agent.executions.values()].every((n) => n === 1)).toBe(true);
    expect(agent.executions.size).toBe(USERS * EVENTS);
    expect(new Set(sent.map((s) => s.inboxId)).size).toBe(USERS * EVENTS);
    // In order per user, both at the agent and at the provider.
    const expected = Array.from({ length: EVENTS }, (_, i) => String(i));
    const byUserAgent = new Map<string, string[]>();
    for (const r of agent.received) if (r.method === "chat.send") byUserAgent.set(r.sandboxId, [...(byUserAgent.get(r.sandboxId) ?? []), r.params.text]);
    const byUserSent = new Map<string, string[]>();
    for (const s of sent) byUserSent.set(s.userId, [...(byUserSent.get(s.userId) ?? []), s.body.replace("echo: ", "")]);
    for (const id of ids) {
      expect(byUserAgent.get(`sbx-${id}`)).toEqual(expected);
      expect(byUserSent.get(id)).toEqual(expected);
    }
    expect(await openCount(t.database)).toBe(0);
  }, 240_000);

  it("loses nothing and sends nothing twice when the control plane is SIGKILLed mid-burst", async () => {
    const USERS = 40;
    const EVENTS = 10;
    const provider = await new FakeProvider().start();
    const ids = await makeUsers(t.database, USERS);
    // Users get a wa_id so the provider can tell them apart.
    await t.database.db.execute(sql`UPDATE users SET wa_id = id`);
    agent.handlers["chat.send"] = async (r) => {
      await sleep(5); // a turn takes a moment, so the kill lands while turns are in flight
      return { reply: `re ${r.params.text}` };
    };
    const children: ChildProcess[] = [];
    const startChild = async () => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "test-support/routing-child.ts")], {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: t.url!,
          AGENT_ENDPOINT: agent.endpoint,
          PROVIDER_URL: provider.url,
          SIGNING_KEY_B64: Buffer.from(keys.privateKeyPem).toString("base64"),
          LEASE_SECONDS: "2",
          SEND_LEASE_MS: "2000",
          CONCURRENCY: "8",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      let err = "";
      child.stderr!.on("data", (d) => (err += String(d)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not start: ${err}`)), 20_000);
        child.stdout!.on("data", (d) => {
          if (String(d).includes("ready")) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once("exit", (code) => reject(new Error(`child exited ${code}: ${err}`)));
      });
      return child;
    };
    try {
      const first = await startChild();
      const inbox = new Inbox();
      for (let i = 0; i < EVENTS; i++) {
        await t.database.db.transaction(async (tx) => {
          for (const userId of ids) await inbox.enqueue(tx, { userId, channel: "whatsapp", kind: "message", providerId: `k-${userId}-${i}`, payload: { text: String(i) } });
        });
      }
      await waitFor(() => provider.sends.length >= (USERS * EVENTS) / 3, 60_000, "a third of the replies");
      first.kill("SIGKILL");
      await new Promise((r) => first.once("exit", r));
      const atKill = provider.sends.length;
      expect(atKill).toBeLessThan(USERS * EVENTS);
      await startChild();
      await waitFor(() => provider.sends.length >= USERS * EVENTS, 90_000, "every reply after the restart");
      await sleep(2500); // past a lease: anything about to be sent twice would be by now
      process.stdout.write(`sigkill: ${atKill} sent before the kill, ${provider.replays} resends recognised by idempotency key\n`);

      expect(provider.sends).toHaveLength(USERS * EVENTS);
      expect([...agent.executions.values()].every((n) => n === 1)).toBe(true);
      const [dupes] = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM (SELECT inbox_id FROM outbox GROUP BY inbox_id HAVING count(*) > 1) d`);
      expect(dupes!.n).toBe(0);
      for (const id of ids) {
        expect(provider.sends.filter((s) => s.to === id).map((s) => s.body)).toEqual(Array.from({ length: EVENTS }, (_, i) => `re ${i}`));
      }
      expect(await openCount(t.database)).toBe(0);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await provider.stop();
    }
  }, 180_000);
});
