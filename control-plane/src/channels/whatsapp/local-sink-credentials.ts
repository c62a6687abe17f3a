import { randomBytes, randomInt } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { z } from "zod";

/**
 * The four WhatsApp secrets for a control plane that has no Meta account: generated on first start
 * and kept in DATA_DIR/whatsapp-local.json (mode 0600), so webhooks signed before a restart still
 * verify after it. The control plane then runs the real WhatsApp channel against its own local
 * Graph API sink (local-sink.ts) with these, exactly as it would against Meta.
 */
export interface LocalWhatsAppCredentials {
  verifyToken: string;
  appSecret: string;
  accessToken: string;
  phoneNumberId: string;
  /** The business number the local sink shows as display_phone_number. */
  displayPhoneNumber: string;
}

const Stored = z.object({
  verifyToken: z.string().min(16),
  appSecret: z.string().min(16),
  accessToken: z.string().min(16),
  phoneNumberId: z.string().regex(/^\d{6,20}$/),
  displayPhoneNumber: z.string().regex(/^\d{6,20}$/),
});

const secret = (prefix: string) => `${prefix}_${randomBytes(24).toString("base64url")}`;

function generate(): LocalWhatsAppCredentials {
  // Meta's phone number ids are 15-16 digits; a leading 9 keeps ours from looking like a real one.
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");
  return {
    verifyToken: secret("lvt"),
    appSecret: secret("las"),
    accessToken: secret("lat"),
    phoneNumberId: `9${digits(14)}`,
    // 555-01xx numbers are reserved for fiction in the North American plan.
    displayPhoneNumber: `1555010${digits(4)}`,
  };
}

export async function resolveLocalWhatsAppCredentials(opts: { dataDir: string }): Promise<{ credentials: LocalWhatsAppCredentials; file?: string; generated: boolean }> {
  // ":memory:" (tests, throwaway runs) keeps nothing on disk.
  if (opts.dataDir === ":memory:") return { credentials: generate(), generated: true };
  const file = path.resolve(opts.dataDir, "whatsapp-local.json");
  const read = async () => Stored.parse(JSON.parse(await fs.readFile(file, "utf8")));
  try {
    return { credentials: await read(), file, generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`${file} is not a valid local WhatsApp credentials file; remove it to generate new ones (${(err as Error).message})`);
    }
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  const credentials = generate();
  try {
    // "wx": two processes starting at once on the same DATA_DIR agree on the first one's secrets.
    await fs.writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    return { credentials, file, generated: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { credentials: await read(), file, generated: false };
    throw err;
  }
}
