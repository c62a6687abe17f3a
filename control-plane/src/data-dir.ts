import { chmodSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { StartRefusedError } from "./errors";

/**
 * DATA_DIR holds the embedded database, the key file, the admin token and the process runtime's
 * sandboxes: only this user may enter it. A missing one is created 0700; an existing one that its
 * group or anyone else can read, write or enter stops the start (PGlite writes its files 0666, so
 * the directory is the only fence around them). ":memory:" keeps nothing on disk.
 */
export function prepareDataDir(dataDir: string): void {
  if (dataDir === ":memory:") return;
  const dir = path.resolve(dataDir);
  let mode: number;
  try {
    mode = statSync(dir).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mode = statSync(dir).mode;
  }
  if ((mode & 0o077) !== 0) {
    throw new StartRefusedError(
      `DATA_DIR ${dir} is accessible to other users (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); it holds the ` +
        `database and key material. Make it private with \`chmod -R go-rwx ${dir}\` and start again.`,
    );
  }
}

/**
 * PGlite creates its files 0666 whatever the umask: this takes group and other bits off every
 * file and directory under DATA_DIR. Run after the database is opened and migrated, and when it
 * is closed; a file created between the two is still behind the 0700 DATA_DIR.
 */
export function restrictDataDirFiles(dataDir: string): void {
  if (dataDir === ":memory:") return;
  // A file or directory PGlite removes meanwhile (a recycled WAL segment) is nobody's to read.
  const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.isSymbolicLink()) continue;
      const file = path.join(dir, entry.name);
      try {
        const { mode } = statSync(file);
        if ((mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
      } catch (err) {
        if (!gone(err)) throw err;
      }
      if (entry.isDirectory()) walk(file);
    }
  };
  walk(path.resolve(dataDir));
}
