import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { generateSigningKeyPair } from "@concierge/protocol";
import type { Db } from "../db/database";
import { settings } from "../db/schema";
import { deriveSandboxToken, hashToken } from "./token";

/**
 * The control plane's Ed25519 key pair (it signs every connect to an agent) and the secret that
 * per-sandbox tokens are derived from. Generated once and kept in the settings table, so every
 * replica and every restart uses the same ones: agents keep accepting the control plane after a
 * restart, and tokens need not be stored.
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

/** Insert-if-absent, then read: two replicas starting at once both end up with the first one's value. */
async function getOrCreate(db: Db, key: string, make: () => string): Promise<string> {
  await db.insert(settings).values({ key, value: make() }).onConflictDoNothing({ target: settings.key });
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, key));
  if (!row) throw new Error(`setting ${key} missing right after insert`);
  return row.value;
}

export async function loadCredentials(db: Db): Promise<ControlPlaneCredentials> {
  const pair = JSON.parse(await getOrCreate(db, KEY_PAIR, () => JSON.stringify(generateSigningKeyPair()))) as {
    privateKeyPem: string;
    publicKeyPem: string;
  };
  const secret = await getOrCreate(db, TOKEN_SECRET, () => randomBytes(32).toString("base64url"));
  const instanceId = await getOrCreate(db, INSTANCE_ID, () => randomBytes(8).toString("hex"));
  return {
    instanceId,
    privateKeyPem: pair.privateKeyPem,
    publicKeyPem: pair.publicKeyPem,
    tokenFor: (sandboxId, generation) => deriveSandboxToken(secret, sandboxId, generation),
    tokenHashFor: (sandboxId, generation) => hashToken(deriveSandboxToken(secret, sandboxId, generation)),
  };
}
