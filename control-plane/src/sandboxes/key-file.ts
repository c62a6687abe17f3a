import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Logger } from "../logger";

/**
 * The control plane's key file: one JSON object, mode 0600, so it can be a Kubernetes Secret's
 * key (`kubectl create secret generic concierge-control-plane-keys --from-file=keys.json=...`):
 *   { "privateKeyPem": "-----BEGIN PRIVATE KEY-----...", "publicKeyPem": "-----BEGIN PUBLIC KEY-----...",
 *     "tokenSecret": "<random, base64url>" }
 */
export const KeyMaterial = z.object({
  privateKeyPem: z.string().includes("PRIVATE KEY"),
  publicKeyPem: z.string().includes("PUBLIC KEY"),
  tokenSecret: z.string().min(32),
});
export type KeyMaterial = z.infer<typeof KeyMaterial>;

/** The keys in the file, or undefined when there is none; a file that does not parse is an error. */
export async function readKeyFile(file: string, logger?: Logger): Promise<KeyMaterial | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const parsed = KeyMaterial.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a control-plane key file (expected privateKeyPem, publicKeyPem, tokenSecret)`);
  // A Secret volume decides its own mode (defaultMode); say so rather than refuse.
  const { mode } = await fs.stat(file);
  if ((mode & 0o077) !== 0) logger?.warn({ keyFile: file, mode: (mode & 0o777).toString(8) }, "the key file is readable by other users; make it 0600 (defaultMode: 0400 for a Secret)");
  return parsed.data;
}

/**
 * Writes the keys whole to a private temp file, then links it into place: link() fails if the
 * name exists, so two processes starting at once agree on the first one's keys. Returns the keys
 * that are in the file afterwards.
 */
export async function writeKeyFileOnce(file: string, keys: KeyMaterial): Promise<KeyMaterial> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await fs.writeFile(tmp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  try {
    await fs.link(tmp, file);
    return keys;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return (await readKeyFile(file))!;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
