import { createHash, randomBytes } from "node:crypto";
import { eq, inArray, sql } from "drizzle-orm";
import { generateSigningKeyPair } from "@concierge/protocol";
import type { Db } from "../db/database";
import { settings } from "../db/schema";
import { getOrCreateSetting } from "../db/settings-store";
import type { Logger } from "../logger";
import { readKeyFile, writeKeyFileOnce, type KeyMaterial } from "./key-file";
import { KeyMismatchError } from "./key-mismatch-error";
import { deriveSandboxToken, hashToken } from "./token";

/**
 * The control plane's Ed25519 key pair (it signs every connect to an agent) and the secret that
 * per-sandbox tokens are derived from. They live in their own 0600 key file (CONTROL_PLANE_KEY_FILE,
 * default DATA_DIR/control-plane-keys.json; a Kubernetes Secret mounted there for several
 * replicas), never in a table: a database file, dump or WAL then holds nothing that can sign a
 * connect or mint a token. Only the key's fingerprint is in the database, so a replica started
 * with another key refuses to run instead of locking every sandbox out. Tests and ":memory:" runs
 * without a key file keep the keys in the settings table, as every version before this did.
 */
export interface ControlPlaneCredentials {
  /**
   * This deployment's id (one per database): its sandboxes carry it as a label, so a control plane
   * only ever adopts or removes its own, never another's on the same Docker daemon (a test run's,
   * a staging copy's).
   */
  instanceId: string;
  privateKeyPem: string;
  publicKeyPem: string;
  /** The sandbox's bearer token for a token generation; deterministic, so it is never stored (only its hash). */
  tokenFor(sandboxId: string, generation?: number): string;
  tokenHashFor(sandboxId: string, generation?: number): string;
}

const KEY_PAIR = "control_plane_signing_key";
const TOKEN_SECRET = "sandbox_token_secret";
const INSTANCE_ID = "control_plane_instance_id";
const KEY_FINGERPRINT = "control_plane_key_fingerprint";

export function keyFingerprint(keys: KeyMaterial): string {
  return createHash("sha256").update(`${keys.publicKeyPem}\n${hashToken(keys.tokenSecret)}`).digest("hex");
}

const fresh = (): KeyMaterial => ({ ...generateSigningKeyPair(), tokenSecret: randomBytes(32).toString("base64url") });

/** The keys as versions before the key file kept them in the settings table, if they are still there. */
async function keysInTable(db: Db): Promise<KeyMaterial | undefined> {
  const found = await db.select().from(settings).where(inArray(settings.key, [KEY_PAIR, TOKEN_SECRET]));
  const pair = found.find((r) => r.key === KEY_PAIR);
  const secret = found.find((r) => r.key === TOKEN_SECRET);
  if (!pair || !secret) return undefined;
  const { privateKeyPem, publicKeyPem } = JSON.parse(pair.value) as { privateKeyPem: string; publicKeyPem: string };
  return { privateKeyPem, publicKeyPem, tokenSecret: secret.value };
}

async function keysFromFile(db: Db, keyFile: string, logger?: Logger): Promise<KeyMaterial> {
  let keys = await readKeyFile(keyFile, logger);
  const legacy = await keysInTable(db);
  if (!keys) {
    const [known] = await db.select().from(settings).where(eq(settings.key, KEY_FINGERPRINT));
    // Another replica made (or moved) the keys: a new pair here would lock its sandboxes out.
    if (known && !legacy) throw new KeyMismatchError(keyFile, "missing");
    // An install from before the key file: its sandboxes' tokens stay valid with the same keys.
    keys = await writeKeyFileOnce(keyFile, legacy ?? fresh());
    if (legacy) logger?.info({ keyFile }, "moved the control plane's keys from the database to their key file");
  }
  const fingerprint = keyFingerprint(keys);
  const agreed = await getOrCreateSetting(db, KEY_FINGERPRINT, () => fingerprint);
  if (agreed !== fingerprint) throw new KeyMismatchError(keyFile, "different");
  if (legacy) {
    if (keyFingerprint(legacy) !== fingerprint) throw new KeyMismatchError(keyFile, "different");
    await db.delete(settings).where(inArray(settings.key, [KEY_PAIR, TOKEN_SECRET]));
    // Rewrites the table so the deleted rows' bytes do not linger in its pages (best effort).
    await db.execute(sql.raw("VACUUM FULL settings")).catch(() => undefined);
  }
  return keys;
}

async function keysInSettings(db: Db): Promise<KeyMaterial> {
  const made = fresh();
  const pair = JSON.parse(await getOrCreateSetting(db, KEY_PAIR, () => JSON.stringify({ privateKeyPem: made.privateKeyPem, publicKeyPem: made.publicKeyPem }))) as {
    privateKeyPem: string;
    publicKeyPem: string;
  };
  const tokenSecret = await getOrCreateSetting(db, TOKEN_SECRET, () => made.tokenSecret);
  return { ...pair, tokenSecret };
}

export async function loadCredentials(db: Db, opts: { keyFile?: string; logger?: Logger } = {}): Promise<ControlPlaneCredentials> {
  const keys = opts.keyFile ? await keysFromFile(db, opts.keyFile, opts.logger) : await keysInSettings(db);
  const instanceId = await getOrCreateSetting(db, INSTANCE_ID, () => randomBytes(8).toString("hex"));
  return {
    instanceId,
    privateKeyPem: keys.privateKeyPem,
    publicKeyPem: keys.publicKeyPem,
    tokenFor: (sandboxId, generation) => deriveSandboxToken(keys.tokenSecret, sandboxId, generation),
    tokenHashFor: (sandboxId, generation) => hashToken(deriveSandboxToken(keys.tokenSecret, sandboxId, generation)),
  };
}
