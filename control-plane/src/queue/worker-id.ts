import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** A fresh id for a process that keeps no state between runs. */
export function newWorkerId(): string {
  return `w-${randomUUID()}`;
}

/**
 * The queue worker id of the process that owns `dataDir`: created once, then read on every start,
 * so a restarted process recognises the leases its previous incarnation held (and takes them back
 * at once). Processes sharing one database each need their own DATA_DIR, or QUEUE_WORKER_ID.
 */
export function resolveWorkerId(opts: { dataDir: string; configured?: string }): string {
  if (opts.configured) return opts.configured;
  if (opts.dataDir === ":memory:") return newWorkerId();
  const file = path.join(opts.dataDir, "queue-worker-id");
  try {
    const id = readFileSync(file, "utf8").trim();
    if (/^[A-Za-z0-9_.-]{1,100}$/.test(id)) return id;
  } catch {
    /* first start */
  }
  const id = newWorkerId();
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
