/**
 * The entry `node --build-snapshot` runs (from snapshot.js, which passes the bundle's path in the
 * environment): it evaluates the bundled agent's modules, not its start, and names main() as what
 * runs after deserialization. The builder's `require` loads built-ins only; the bundle gets one
 * that also evaluates better-sqlite3's JavaScript here, leaving out its native addon, which a
 * snapshot cannot hold (see snapshot.js). The bundle is compiled under its own file name, so stack
 * traces read as main.js's.
 */
"use strict";
const fs = require("node:fs");
const { createRequire } = require("node:module");
const net = require("node:net");
const path = require("node:path");
const v8 = require("node:v8");
const vm = require("node:vm");

const MAIN = process.env.AGENT_SNAPSHOT_MAIN;
if (!MAIN) throw new Error("snapshot-entry.js is run by snapshot.js");

/**
 * Evaluates one CommonJS file with the given `require`, under its own file name (stack traces read
 * as that file's). Not the process's main module: a bundle's own start (require.main === module)
 * stays off.
 */
function evaluate(filename, req, mod = { exports: {} }) {
  const source = fs.readFileSync(filename, "utf8").replace(/^#!.*/, "");
  vm.compileFunction(source, ["exports", "require", "module", "__filename", "__dirname"], { filename }).call(mod.exports, mod.exports, req, mod, filename, path.dirname(filename));
  return mod.exports;
}

/** better-sqlite3's addon, by the package Node resolves for main.js at run time (a redirect, as the Node 24 tests use, applies). */
function addon() {
  const index = createRequire(MAIN).resolve("better-sqlite3");
  return createRequire(MAIN)(path.join(path.dirname(index), "../build/Release/better_sqlite3.node"));
}

/**
 * better-sqlite3's lib/ (ten CommonJS files) evaluated into the snapshot, so a start does not
 * resolve, read and compile them. The package loads its addon only in the Database constructor,
 * through `bindings`, which searches a dozen paths; here that is addon() above.
 */
function betterSqlite3() {
  const loaded = new Map();
  const load = (filename) => {
    let mod = loaded.get(filename);
    if (!mod) {
      // Registered before it runs, as CommonJS does: a cycle sees the exports so far.
      loaded.set(filename, (mod = { exports: {} }));
      const local = createRequire(filename);
      evaluate(filename, (request) => (request === "bindings" ? addon : request.startsWith(".") ? load(local.resolve(request)) : require(request)), mod);
    }
    return mod.exports;
  };
  return load(createRequire(MAIN).resolve("better-sqlite3"));
}

function bundleRequire(name) {
  return name === "better-sqlite3" ? betterSqlite3() : require(name);
}

// What the gateway's listen() loads and compiles on its first call, done here once: net resolves
// the host and tests it with isIPv6 (a large regular expression), and hands the listen to cluster,
// which loads child_process and dgram (~15 ms of a start in the sandbox, docs/sandbox-speed.md).
net.isIPv6("::1");
require("node:cluster");

const agent = evaluate(MAIN, bundleRequire);
v8.startupSnapshot.setDeserializeMainFunction(() => agent.main({ startedFrom: "snapshot" }));
