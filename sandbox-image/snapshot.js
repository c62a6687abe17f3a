#!/usr/bin/env node
/**
 * Builds a V8 startup snapshot of the bundled agent (Node's `--build-snapshot`): the heap after
 * every module of the bundle has been evaluated, Node's own modules it loads included. Started with
 * `node --snapshot-blob <blob>`, the agent then deserializes that heap instead of compiling and
 * running ~1 MB of module code, and goes straight to main(). Measured in docs/sandbox-speed.md.
 *
 *   node sandbox-image/snapshot.js <main.js> <blob>
 *
 * Run at image build, with the run time's Node and NODE_OPTIONS (V8 accepts a snapshot only from
 * the same binary; the flags that shape the heap must match too). The builder's entry is
 * snapshot-entry.js, which evaluates main.js under its own file name (stack traces read as from
 * main.js). The image's smoke test then starts the agent from the blob (image-smoke.js --snapshot).
 *
 * What cannot be in a snapshot stays out and is loaded on first use instead:
 * - better-sqlite3's native addon. Its JavaScript (lib/) is evaluated into the snapshot; the
 *   addon is loaded by the first `new BetterSqlite3(...)` (module.createRequire beside main.js), so
 *   the binding is opened at run time as before.
 * - node:http: its parser binding has native state Node cannot serialize. The bundle already
 *   imports it through getters that load it on first read (bundle.js, LAZY), and ws and the gateway
 *   read them only when they listen.
 * Everything else the modules do at load must be pure (no timers, sockets, files, environment):
 * main() is the only reader of process.env and runs after deserialization, in the sandbox's own
 * environment. Math.random and crypto are seeded per process after deserialization.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

function main() {
  const [mainJs, blob] = process.argv.slice(2).map((p) => p && path.resolve(p));
  if (!mainJs || !blob) throw new Error("usage: snapshot.js <main.js> <blob>");
  const entry = path.join(__dirname, "snapshot-entry.js");
  // The builder compiles, so no compile cache entries for it (and none written as another user).
  const env = { ...process.env, AGENT_SNAPSHOT_MAIN: mainJs };
  delete env.NODE_COMPILE_CACHE;
  // Without the code cache of Node's own modules: the process keeps the whole blob in memory for
  // its lifetime, and that cache doubles it (9.1 -> 4.7 MiB here) for ~20 ms of start.
  const config = path.join(path.dirname(blob), `.${path.basename(blob)}.config.json`);
  fs.writeFileSync(config, JSON.stringify({ builder: entry, withoutCodeCache: true }));
  const r = spawnSync(process.execPath, ["--snapshot-blob", blob, "--build-snapshot-config", config], { env, encoding: "utf8" });
  fs.rmSync(config, { force: true });
  // Node warns about built-ins it has not verified in snapshots; only failures matter here.
  const stderr = (r.stderr ?? "").split("\n").filter((l) => l && !/not yet fully verified|may still work|Node\.js issue tracker|--trace-warnings/.test(l));
  if (r.status !== 0) throw new Error(`node --build-snapshot failed (${r.status ?? r.signal}):\n${stderr.join("\n")}`);
  const mib = fs.statSync(blob).size / 1048576;
  process.stdout.write(`snapshot: ${path.relative(process.cwd(), mainJs)} -> ${blob} (${mib.toFixed(1)} MiB)\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`snapshot: ${err.stack ?? err}\n`);
  process.exit(1);
}
