import { eq } from "drizzle-orm";
import { systemClock } from "../src/clock";
import { sandboxes } from "../src/db/schema";
import { SandboxAuthenticator } from "../src/llm-gateway/sandbox-authenticator";
import { createSandboxHarness, type SandboxHarness } from "../../test-support/sandbox-harness";

/**
 * The sandbox service and the gateway's authenticator on one database, as main.ts wires them
 * (onTokenRevoked -> forget), with real agents on the process runtime.
 */
describe("audit 15.12: tokens never rotate, and a stopped sandbox's token still works", () => {
  let h: SandboxHarness;
  let auth: SandboxAuthenticator;
  beforeAll(async () => {
    h = await createSandboxHarness({ kind: "process", service: { onTokenRevoked: (id) => auth.forget(id) } });
    // A long cache TTL: only forget() can end a cached token here.
    auth = new SandboxAuthenticator(h.testDb.database.db, systemClock, 3_600_000);
  }, 120_000);
  afterAll(async () => {
    await h?.cleanup();
  }, 120_000);

  it("refuses a stopped sandbox's token at once, and accepts it again once it is woken", async () => {
    const userId = await h.createUser();
    const first = await h.service.ensure(userId);
    expect(await auth.authenticate(first.token)).toMatchObject({ sandboxId: first.sandboxId, userId });
    await h.service.stop(userId);
    expect(await auth.authenticate(first.token)).toBeNull();
    const woken = await h.service.ensure(userId);
    expect(await auth.authenticate(woken.token)).toMatchObject({ userId });
  }, 60_000);

  it("gives a recreated sandbox a new token and refuses the old one", async () => {
    const userId = await h.createUser();
    const first = await h.service.ensure(userId);
    expect(await auth.authenticate(first.token)).not.toBeNull();
    // The container is gone (removed by an operator, a daemon reset): the next ensure recreates it.
    await h.service.stop(userId);
    await h.runtime.remove({ userId, removeData: false });
    const second = await h.service.ensure(userId);
    expect(second.sandboxId).toBe(first.sandboxId);
    expect(second.token).not.toBe(first.token);
    // The agent accepted the new token in its handshake, and the gateway knows only the new one.
    await h.connections.connect(second, { timeoutMs: 5_000 });
    expect(await auth.authenticate(second.token)).toMatchObject({ userId });
    expect(await auth.authenticate(first.token)).toBeNull();
    const [row] = await h.testDb.database.db.select().from(sandboxes).where(eq(sandboxes.userId, userId));
    expect(row!.tokenGeneration).toBeGreaterThan(1);
  }, 60_000);
});
