import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { sql } from "drizzle-orm";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { startFakeCluster, type FakeCluster } from "../../test-support/fake-cluster";
import { sign, textWebhook } from "../../test-support/meta-samples";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { loadConfig } from "../src/config";
import { rows } from "../src/db/database";
import { createLogger } from "../src/logger";
import { startControlPlane, type ControlPlane } from "../src/main";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, VERIFY_TOKEN, waitFor } from "./whatsapp-harness";

const ROOT = path.resolve(__dirname, "../..");
const describePostgres = process.env.DATABASE_URL ? describe : describe.skip;
if (!process.env.DATABASE_URL) process.stdout.write("SKIPPED (no DATABASE_URL): two control-plane replicas on one fake cluster\n");

/**
 * Two control-plane replicas on one PostgreSQL database and one fake cluster: A in this process,
 * B the built product (control-plane/dist/main.js) as a child process, SIGKILLed mid-burst. Any
 * replica takes any webhook; the inbox's per-user claim and the agent's idempotency keys keep each
 * message to one turn and one outbox row; the API server's unique names keep each user to one pod;
 * the reconciler lease keeps one reconciler. (The fake cluster cannot show a real scheduler or network.)
 */
describePostgres("two control-plane replicas on one database and one (fake) cluster", () => {
  let t: TestDatabase;
  let cluster: FakeCluster;
  let fake: FakeGraphApi;
  let a: ControlPlane | undefined;
  let b: ChildProcess | undefined;

  const env = (): Record<string, string> => ({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: ":memory:",
    LOG_LEVEL: "warn",
    DATABASE_URL: t.url!,
    SANDBOX_RUNTIME: "kubernetes",
    KUBECONFIG: cluster.kubeconfigFile,
    KUBE_NAMESPACE: cluster.namespace,
    SANDBOX_GATEWAY_URL: "http://127.0.0.1:9/llm/v1",
    INBOX_LEASE_SECONDS: "5",
    ADMIN_TOKEN: "replica-test-admin-token-0123456789",
    WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
    WHATSAPP_API_BASE_URL: fake.baseUrl,
  });

  beforeAll(async () => {
    t = await createTestDatabase("postgres");
    cluster = await startFakeCluster();
    fake = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
  }, 60_000);
  afterAll(async () => {
    b?.kill("SIGKILL");
    await a?.stop();
    await fake?.stop();
    await cluster?.close();
    await t?.cleanup();
  }, 60_000);

  async function startChild(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [path.join(ROOT, "control-plane/dist/main.js")], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env() }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr!.on("data", (d) => (err += String(d)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica B did not start: ${err}`)), 30_000);
      child.stdout!.on("data", (d) => {
        out += String(d);
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once("exit", (code) => reject(new Error(`replica B exited ${code}: ${err}`)));
    });
    return { child, url };
  }

  it("a burst across both, one SIGKILLed mid-burst: nothing lost, one turn and one outbox row per message, one pod per user, one reconciler", async () => {
    a = await startControlPlane(loadConfig(env()), { logger: createLogger({ level: "silent" }) });
    const started = await startChild();
    b = started.child;
    const urls = { a: a.url, b: started.url };
    const post = (url: string, waId: string, body: string) => {
      const payload = textWebhook({ waId, name: `User ${waId}`, body });
      return fetch(`${url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sign(payload, APP_SECRET) }, body: payload });
    };
    const users = Array.from({ length: 5 }, (_, i) => `49170000000${i}`);
    const perUser = 3;
    let sent = 0;
    for (let round = 0; round < perUser; round++) {
      for (const [i, waId] of users.entries()) {
        // Alternate replicas; once B is dead everything goes to A, as a load balancer would do.
        const to = b && (i + round) % 2 === 1 ? urls.b : urls.a;
        expect((await post(to, waId, `remember that fact ${round} of ${waId}`)).status).toBe(200);
        sent++;
      }
      // Mid-burst: B dies with turns in flight (its claims expire; A takes them over).
      if (round === 1 && b) {
        await waitFor(async () => fake.sentMessages().length >= 3, 60_000, "some replies before the kill");
        b.kill("SIGKILL");
        await new Promise((r) => b!.once("exit", r));
        b = undefined;
      }
    }
    await waitFor(async () => fake.sentMessages().length >= sent, 120_000, `all ${sent} replies`);
    // Give late duplicates a moment to appear (past the inbox lease), then count.
    await new Promise((r) => setTimeout(r, 6_000));
    // In our system nothing is doubled: one turn's reply per inbox event, each sent.
    const outRows = await rows<{ inbox_id: string | null; status: string }>(t.database.db, sql`SELECT inbox_id, status FROM outbox WHERE channel = 'whatsapp'`);
    expect(outRows).toHaveLength(sent);
    expect(new Set(outRows.map((r) => r.inbox_id)).size).toBe(sent);
    expect(outRows.every((r) => r.status === "sent")).toBe(true);
    // At the Graph API nothing is lost; a repeat is possible only for the one send per user that B
    // had in flight when it died (the outbox sends per user strictly one at a time, and the Graph
    // API has no idempotency key: docs/routing.md's at-least-once window).
    const byUser = new Map<string, number>();
    for (const m of fake.sentMessages()) byUser.set(String(m.to), (byUser.get(String(m.to)) ?? 0) + 1);
    for (const u of users) {
      expect(byUser.get(u)).toBeGreaterThanOrEqual(perUser);
      expect(byUser.get(u)).toBeLessThanOrEqual(perUser + 1);
    }
    process.stdout.write(`replicas: ${fake.sentMessages().length - sent} Graph API repeat(s) from the SIGKILL window\n`);
    for (const m of fake.sentMessages()) expect(String(m.text?.body)).toMatch(/remember/i);

    // One sandbox per user in the cluster: one pod, one claim, one secret each.
    const [{ n }] = (await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM users`)) as [{ n: number }];
    expect(n).toBe(users.length);
    expect(cluster.api.list("pods", cluster.namespace)).toHaveLength(users.length);
    expect(cluster.api.list("persistentvolumeclaims", cluster.namespace)).toHaveLength(users.length);
    expect(cluster.api.list("secrets", cluster.namespace)).toHaveLength(users.length);
    // One reconciler lease, held by a live replica (A: B's expired or was never taken).
    const leaseRows = await rows<{ name: string; holder: string }>(t.database.db, sql`SELECT name, holder FROM leases`);
    expect(leaseRows.filter((l) => l.name === "reconciler")).toHaveLength(1);
  }, 240_000);
});
