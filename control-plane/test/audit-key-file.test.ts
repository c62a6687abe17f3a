import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inArray } from "drizzle-orm";
import { settings } from "../src/db/schema";
import { prepareDataDir } from "../src/data-dir";
import { StartRefusedError } from "../src/errors";
import { loadCredentials } from "../src/sandboxes/credentials";
import { KeyMismatchError } from "../src/sandboxes/key-mismatch-error";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { useTempDir } from "../../test-support/temp-dir";

describeEachDriver("audit 15.2: the database holds the control plane's signing key", (driver) => {
  let t: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    t = await createTestDatabase(driver);
    dir = mkdtempSync(path.join(tmpdir(), "concierge-keys-"));
  });
  afterEach(async () => {
    await t?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const keyRows = () => t.database.db.select().from(settings).where(inArray(settings.key, ["control_plane_signing_key", "sandbox_token_secret"]));

  it("keeps a new install's keys in a 0600 key file, never in a table", async () => {
    const keyFile = path.join(dir, "control-plane-keys.json");
    const creds = await loadCredentials(t.database.db, { keyFile });
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const file = JSON.parse(readFileSync(keyFile, "utf8"));
    expect(file.privateKeyPem).toBe(creds.privateKeyPem);
    expect(file.tokenSecret.length).toBeGreaterThanOrEqual(32);
    expect(await keyRows()).toEqual([]);
    const everything = JSON.stringify(await t.database.db.select().from(settings));
    expect(everything).not.toContain(file.tokenSecret);
    expect(everything).not.toContain("PRIVATE KEY");
    // A restart reads the same keys: the same tokens.
    expect((await loadCredentials(t.database.db, { keyFile })).tokenFor("sbx-1", 3)).toBe(creds.tokenFor("sbx-1", 3));
  });

  it("moves an existing install's keys out of the table, so its sandboxes' tokens stay valid", async () => {
    const before = await loadCredentials(t.database.db); // as versions before the key file kept them
    expect(await keyRows()).toHaveLength(2);
    const keyFile = path.join(dir, "keys.json");
    const after = await loadCredentials(t.database.db, { keyFile });
    expect(after.publicKeyPem).toBe(before.publicKeyPem);
    expect(after.tokenFor("sbx-1")).toBe(before.tokenFor("sbx-1"));
    expect(after.instanceId).toBe(before.instanceId);
    expect(await keyRows()).toEqual([]);
    expect(JSON.parse(readFileSync(keyFile, "utf8")).privateKeyPem).toBe(before.privateKeyPem);
  });

  it("refuses a replica with no key file, or another one, on a database whose sandboxes trust a key", async () => {
    const first = path.join(dir, "first.json");
    await loadCredentials(t.database.db, { keyFile: first });
    await expect(loadCredentials(t.database.db, { keyFile: path.join(dir, "missing.json") })).rejects.toThrow(/missing, but another control plane/);
    const other = path.join(dir, "other.json");
    const theirs = JSON.parse(readFileSync(first, "utf8"));
    writeFileSync(other, JSON.stringify({ ...theirs, tokenSecret: "x".repeat(43) }), { mode: 0o600 });
    await expect(loadCredentials(t.database.db, { keyFile: other })).rejects.toBeInstanceOf(KeyMismatchError);
    // The same file (a Secret mounted on every replica) is fine.
    const copy = path.join(dir, "copy.json");
    writeFileSync(copy, readFileSync(first), { mode: 0o600 });
    await expect(loadCredentials(t.database.db, { keyFile: copy })).resolves.toMatchObject({ publicKeyPem: theirs.publicKeyPem });
  });
});

describe("audit 15.2: DATA_DIR is world-readable", () => {
  const dir = useTempDir("concierge-datadir-");

  it("creates a missing DATA_DIR 0700", () => {
    const dataDir = path.join(dir(), "nested", "data");
    prepareDataDir(dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it.each([0o755, 0o750, 0o701])("refuses a DATA_DIR of mode %o, saying how to fix it", (mode) => {
    chmodSync(dir(), mode);
    let err: unknown;
    try {
      prepareDataDir(dir());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StartRefusedError);
    expect((err as Error).message).toContain(`chmod -R go-rwx ${dir()}`);
  });
});
