import { sql } from "drizzle-orm";
import express from "express";
import { generateSigningKeyPair } from "@concierge/protocol";
import { createLogger } from "../src/logger";
import { rows, type Database } from "../src/db/database";
import { users } from "../src/db/schema";
import { ConnectionManager } from "../src/connections/connection-manager";
import { Inbox } from "../src/inbox/inbox";
import { Dispatcher, type InboxHandler } from "../src/inbox/dispatcher";
import { messageHandler } from "../src/inbox/message-handler";
import { createAgentPort } from "../src/agent-port";
import { createEventsAdminRouter } from "../src/inbox/events-admin-router";
import { Outbox } from "../src/outbox/outbox";
import { VOICE_PRIORITY, type NewInboundEvent } from "../src/inbox/types";
import type { ChannelAdapter, OutboundRow } from "../src/outbox/types";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { FakeAgent, sleep } from "../../test-support/fake-agent";
import { waitFor } from "../../test-support/wait-for";

const logger = createLogger({ level: "silent" });
const keys = generateSigningKeyPair();
const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };

/** Records every send, in order, and can be made to fail. */
class RecordingAdapter implements ChannelAdapter {
  readonly sent: OutboundRow[] = [];
  fail?: (row: OutboundRow) => Error | undefined;
  constructor(readonly channel: ChannelAdapter["channel"] = "whatsapp") {}
  async send(row: OutboundRow) {
    const e = this.fail?.(row);
    if (e) throw e;
    this.sent.push(row);
    return { providerId: `p-${row.id}` };
  }
}

async function makeUsers(db: Database, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ name: `u${i + j}`, waId: `49${Date.now()}${i + j}${Math.random().toString().slice(2, 8)}` }));
    const r = await db.db.insert(users).values(batch).returning({ id: users.id });
    out.push(...r.map((x) => x.id));
  }
  return out;
}

const msg = (userId: string, providerId: string, text: string, extra: Partial<NewInboundEvent> = {}): NewInboundEvent => ({
  userId,
  channel: "whatsapp",
  kind: "message",
  providerId,
  payload: { text },
  ...extra,
});

describeEachDriver("inbox and dispatcher", (driver) => {
  let t: TestDatabase;
  let inbox: Inbox;
  let outbox: Outbox;
  let adapter: RecordingAdapter;
  let dispatcher: Dispatcher | undefined;
  let agent: FakeAgent;
  let connections: ConnectionManager;

  beforeAll(async () => {
    t = await createTestDatabase(driver);
    agent = await new FakeAgent({ tokenFor: (id) => `tok-${id}`, controlPlanePublicKeyPem: keys.publicKeyPem }).start();
  });
  afterAll(async () => {
    await agent.stop();
    await t.cleanup();
  });
  beforeEach(async () => {
    // One database per file: close out what earlier tests left unfinished so each starts clean.
    await t.database.db.execute(sql`UPDATE inbox_events SET status = 'done' WHERE status IN ('pending', 'processing')`);
    await t.database.db.execute(sql`UPDATE outbox SET status = 'failed' WHERE status IN ('pending', 'sending')`);
    inbox = new Inbox();
    adapter = new RecordingAdapter();
    outbox = new Outbox({ database: t.database, logger, retry: FAST_RETRY, pollIntervalMs: 50 });
    outbox.registerAdapter(adapter);
    // Generous: a loaded CI machine must not turn a slow first dial into a retry.
    connections = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, requestTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
  });
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
    await outbox.stop();
    await connections.closeAll();
  });

  const sandboxes = {
    async ensure(userId: string) {
      return { userId, sandboxId: `sbx-${userId}`, endpoint: agent.endpoint, token: `tok-sbx-${userId}` };
    },
  };
  function startDispatcher(extra: Partial<ConstructorParameters<typeof Dispatcher>[0]> = {}, handlers: Record<string, InboxHandler> = {}) {
    const d = new Dispatcher({ database: t.database, outbox, logger, concurrency: 4, leaseSeconds: 30, retry: FAST_RETRY, pollIntervalMs: 50, ...extra });
    d.handle("message", messageHandler({ agent: createAgentPort({ sandboxes, connections }) }));
    for (const [k, h] of Object.entries(handlers)) d.handle(k, h);
    dispatcher = d;
    return d.start();
  }
  const enqueue = (e: NewInboundEvent) => t.database.db.transaction((tx) => inbox.enqueue(tx, e));

  it("enqueues once per (channel, provider id) and only when the caller commits", async () => {
    const [u] = await makeUsers(t.database, 1);
    expect(await enqueue(msg(u!, "wamid.dup", "a"))).toBe(true);
    expect(await enqueue(msg(u!, "wamid.dup", "a again"))).toBe(false);
    await expect(
      t.database.db.transaction(async (tx) => {
        await inbox.enqueue(tx, msg(u!, "wamid.rolledback", "b"));
        throw new Error("webhook failed");
      }),
    ).rejects.toThrow("webhook failed");
    const r = await rows<{ provider_id: string }>(t.database.db, sql`SELECT provider_id FROM inbox_events WHERE user_id = ${u!}`);
    expect(r.map((x) => x.provider_id)).toEqual(["wamid.dup"]);
  });

  it("answers a message through the agent and sends the reply, keeping the event as done", async () => {
    const [u] = await makeUsers(t.database, 1);
    await startDispatcher();
    await outbox.start();
    await enqueue(msg(u!, "wamid.hello", "hello there"));
    await waitFor(() => adapter.sent.length === 1, 5000, "the reply");
    expect(adapter.sent[0]).toMatchObject({ userId: u, channel: "whatsapp", body: "echo: hello there" });
    const [ev] = await rows<{ id: string; status: string; attempts: number }>(t.database.db, sql`SELECT id, status, attempts FROM inbox_events WHERE provider_id = 'wamid.hello'`);
    expect(ev).toMatchObject({ status: "done", attempts: 1 });
    // The agent saw the inbox row id as the idempotency key.
    expect(agent.executions.get(ev!.id)).toBe(1);
    await waitFor(async () => (await rows<{ status: string }>(t.database.db, sql`SELECT status FROM messages WHERE user_id = ${u!}`))[0]?.status === "sent", 3000, "messages row sent");
    const [m] = await rows<{ status: string; provider_id: string; content: string }>(t.database.db, sql`SELECT status, provider_id, content FROM messages WHERE user_id = ${u!}`);
    expect(m).toMatchObject({ status: "sent", provider_id: `p-${adapter.sent[0]!.id}`, content: "echo: hello there" });
  });

  it("runs one user's events strictly in order and one at a time, users in parallel", async () => {
    const us = await makeUsers(t.database, 3);
    const log: string[] = [];
    const running = new Map<string, number>();
    let maxParallelUsers = 0;
    await startDispatcher({}, {
      note: async (e) => {
        const n = (running.get(e.userId) ?? 0) + 1;
        running.set(e.userId, n);
        expect(n).toBe(1); // never two events of one user at once
        maxParallelUsers = Math.max(maxParallelUsers, [...running.values()].filter((x) => x > 0).length);
        await sleep(15);
        log.push(`${e.userId}:${String(e.payload.i)}`);
        running.set(e.userId, n - 1);
      },
    });
    await t.database.db.transaction(async (tx) => {
      for (let i = 0; i < 6; i++) for (const u of us) await inbox.enqueue(tx, { userId: u, channel: "system", kind: "note" as never, providerId: `note-${u}-${i}`, payload: { i } });
    });
    await waitFor(() => log.length === 18, 10_000, "all notes");
    for (const u of us) expect(log.filter((l) => l.startsWith(u)).map((l) => Number(l.split(":")[1]))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxParallelUsers).toBeGreaterThan(1);
  });

  it("puts a voice turn next in its user's queue, but never beside the event in progress", async () => {
    const [u] = await makeUsers(t.database, 1);
    const log: string[] = [];
    let inFlight = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rec = (name: string): InboxHandler => async (e) => {
      inFlight++;
      expect(inFlight).toBe(1);
      log.push(`${name}:${String(e.payload.i)}:start`);
      if (e.payload.i === 0) await gate;
      log.push(`${name}:${String(e.payload.i)}:end`);
      inFlight--;
    };
    await startDispatcher({}, { note: rec("note"), voice_turn: rec("voice") });
    for (let i = 0; i < 3; i++) await enqueue({ userId: u!, channel: "system", kind: "note" as never, providerId: `v-note-${i}`, payload: { i } });
    await waitFor(() => log.includes("note:0:start"), 3000, "first note");
    await enqueue({ userId: u!, channel: "voice", kind: "voice_turn", providerId: "CA1:1", payload: { i: 9 }, priority: VOICE_PRIORITY });
    await sleep(150);
    expect(log).toEqual(["note:0:start"]); // the voice turn waits for the event in progress
    release();
    await waitFor(() => log.length === 8, 3000, "everything");
    expect(log).toEqual(["note:0:start", "note:0:end", "voice:9:start", "voice:9:end", "note:1:start", "note:1:end", "note:2:start", "note:2:end"]);
  });

  it("dead-letters after the last attempt and sends exactly one apology", async () => {
    const [u] = await makeUsers(t.database, 1);
    let calls = 0;
    await startDispatcher({}, {
      message: async () => {
        calls++;
        throw new Error("agent exploded\n    at secret/stack.ts:1");
      },
    });
    await outbox.start();
    await enqueue(msg(u!, "wamid.doomed", "help"));
    await waitFor(() => adapter.sent.length >= 1, 5000, "apology");
    await sleep(300);
    expect(calls).toBe(FAST_RETRY.attempts);
    expect(adapter.sent).toHaveLength(1);
    expect(adapter.sent[0]!.body).toMatch(/^Sorry/);
    expect(adapter.sent[0]!.body).not.toMatch(/exploded|stack/);
    const [ev] = await rows<{ status: string; attempts: number; last_error: string }>(t.database.db, sql`SELECT status, attempts, last_error FROM inbox_events WHERE provider_id = 'wamid.doomed'`);
    expect(ev).toMatchObject({ status: "dead", attempts: FAST_RETRY.attempts });
    expect(ev!.last_error).toMatch(/agent exploded/);
  });

  it("dead-letters a failing alarm without telling the user about a message they never sent", async () => {
    const [u] = await makeUsers(t.database, 1);
    let calls = 0;
    await startDispatcher({}, {
      alarm: async () => {
        calls++;
        throw new Error("sandbox unavailable");
      },
    });
    await outbox.start();
    await enqueue(msg(u!, "alarm:doomed", "", { kind: "alarm", channel: "system" }));
    await waitFor(async () => {
      const [ev] = await rows<{ status: string }>(t.database.db, sql`SELECT status FROM inbox_events WHERE provider_id = 'alarm:doomed'`);
      return ev?.status === "dead";
    }, 5000, "dead alarm");
    await sleep(300);
    expect(calls).toBe(FAST_RETRY.attempts);
    expect(adapter.sent).toHaveLength(0);
  });

  it("redelivers a turn whose agent dropped the connection, and the turn runs once", async () => {
    const [u] = await makeUsers(t.database, 1);
    let first = true;
    agent.handlers["chat.send"] = async (r) => {
      if (first) {
        first = false;
        // The container dies mid-turn: every socket goes, the turn itself finishes and is stored.
        setTimeout(() => agent.dropAll(), 20);
        await sleep(100);
      }
      return { reply: `done: ${r.params.text}` };
    };
    try {
      await startDispatcher();
      await outbox.start();
      await enqueue(msg(u!, "wamid.crash", "book dinner"));
      await waitFor(() => adapter.sent.length === 1, 8000, "the reply after redelivery");
      await sleep(200);
      expect(adapter.sent.map((s) => s.body)).toEqual(["done: book dinner"]);
      const [ev] = await rows<{ id: string; attempts: number; status: string }>(t.database.db, sql`SELECT id, attempts, status FROM inbox_events WHERE provider_id = 'wamid.crash'`);
      expect(ev).toMatchObject({ status: "done", attempts: 2 });
      expect(agent.executions.get(ev!.id)).toBe(1);
      expect(agent.received.filter((r) => r.params?.idempotencyKey === ev!.id)).toHaveLength(2);
    } finally {
      delete (agent.handlers as Record<string, unknown>)["chat.send"];
      agent.handlers["chat.send"] = (r) => ({ reply: `echo: ${r.params.text}`, llmCalls: 0 });
    }
  });

  it("renews the lease of a long turn so a second dispatcher never takes it over", async () => {
    const [u] = await makeUsers(t.database, 1);
    let runs = 0;
    const slow: InboxHandler = async () => {
      runs++;
      await sleep(2500);
    };
    const other = new Dispatcher({ database: t.database, outbox, logger, concurrency: 2, leaseSeconds: 1, retry: FAST_RETRY, pollIntervalMs: 50 });
    other.handle("note", slow);
    await startDispatcher({ leaseSeconds: 1 }, { note: slow });
    await other.start();
    try {
      await enqueue({ userId: u!, channel: "system", kind: "note" as never, providerId: "long-1", payload: {} });
      await waitFor(async () => (await rows<{ status: string }>(t.database.db, sql`SELECT status FROM inbox_events WHERE provider_id = 'long-1'`))[0]?.status === "done", 8000, "the long turn");
      expect(runs).toBe(1);
    } finally {
      await other.stop();
    }
  });

  it("writes a turn's several replies in order, and sends them in that order", async () => {
    const [u] = await makeUsers(t.database, 1);
    await startDispatcher({}, {
      note: async (e) => ["part 1", "part 2", "part 3"].map((body) => ({ userId: e.userId, channel: "whatsapp" as const, kind: "text" as const, body, inboxId: e.id })),
    });
    await outbox.start();
    await enqueue({ userId: u!, channel: "system", kind: "note" as never, providerId: "parts-1", payload: {} });
    await waitFor(() => adapter.sent.filter((r) => r.userId === u).length === 3, 5000, "three parts");
    expect(adapter.sent.filter((r) => r.userId === u).map((r) => r.body)).toEqual(["part 1", "part 2", "part 3"]);
  });

  it("writes no reply for an attempt whose lease was taken over", async () => {
    const [u] = await makeUsers(t.database, 1);
    await startDispatcher({}, {
      note: async (e) => {
        // Another process took the event over (our lease expired while we worked).
        await t.database.db.execute(sql`UPDATE inbox_events SET lease_token = 'someone-else' WHERE id = ${e.id}`);
        return [{ userId: e.userId, channel: "whatsapp", kind: "text", body: "stale reply", inboxId: e.id }];
      },
    });
    await enqueue({ userId: u!, channel: "system", kind: "note" as never, providerId: "stolen-1", payload: {} });
    await waitFor(async () => (await rows<{ lease_token: string }>(t.database.db, sql`SELECT lease_token FROM inbox_events WHERE provider_id = 'stolen-1'`))[0]?.lease_token === "someone-else", 3000, "the takeover");
    await sleep(300);
    const [ev] = await rows<{ status: string }>(t.database.db, sql`SELECT status FROM inbox_events WHERE provider_id = 'stolen-1'`);
    expect(ev!.status).toBe("processing");
    expect(await rows(t.database.db, sql`SELECT 1 FROM outbox WHERE user_id = ${u!}`)).toHaveLength(0);
    expect(await rows(t.database.db, sql`SELECT 1 FROM messages WHERE user_id = ${u!}`)).toHaveLength(0);
  });

  it("lists a user's last N events with their status for the operator", async () => {
    const [u] = await makeUsers(t.database, 1);
    for (let i = 0; i < 4; i++) await enqueue(msg(u!, `wamid.list.${i}`, `m${i}`));
    const app = express().use("/sandbox", createEventsAdminRouter({ database: t.database, inbox }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const port = (server.address() as { port: number }).port;
      const res = await fetch(`http://127.0.0.1:${port}/sandbox/users/${u}/events?limit=3`);
      const body = (await res.json()) as { events: { providerId: string; status: string }[] };
      expect(res.status).toBe(200);
      expect(body.events.map((e) => e.providerId)).toEqual(["wamid.list.3", "wamid.list.2", "wamid.list.1"]);
      expect(body.events.every((e) => e.status === "pending")).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/sandbox/users/${u}/events?limit=0`)).status).toBe(400);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
