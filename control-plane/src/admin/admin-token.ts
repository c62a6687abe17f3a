import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

/**
 * ADMIN_TOKEN when set; otherwise one generated on first start and kept in DATA_DIR/admin-token
 * (mode 0600), so it survives restarts. main.ts prints it when it was generated.
 */
export async function resolveAdminToken(opts: { configured?: string; dataDir: string }): Promise<{ token: string; source: "env" | "file" | "generated"; file?: string }> {
  if (opts.configured) return { token: opts.configured, source: "env" };
  // ":memory:" (tests, throwaway runs) keeps nothing on disk: the token lives as long as the process.
  if (opts.dataDir === ":memory:") return { token: `adm_${randomBytes(32).toString("base64url")}`, source: "generated" };
  const file = path.resolve(opts.dataDir, "admin-token");
  const read = async () => (await fs.readFile(file, "utf8")).trim();
  try {
    const token = await read();
    if (token.length >= 16) return { token, source: "file", file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  const token = `adm_${randomBytes(32).toString("base64url")}`;
  // Written whole to a private temp file, then linked into place: link() fails if the name exists,
  // so two processes starting at once agree on the first one's token, and nobody reads a half file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await fs.writeFile(tmp, `${token}\n`, { mode: 0o600, flag: "wx" });
  try {
    await fs.link(tmp, file);
    return { token, source: "generated", file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { token: await read(), source: "file", file };
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
