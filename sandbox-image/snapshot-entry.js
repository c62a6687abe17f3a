/**
 * The entry `node --build-snapshot` runs (from snapshot.js, which passes the bundle's path in the
 * environment): it evaluates the bundled agent's modules, not its start, and names main() as what
 * runs after deserialization. The builder's `require` loads built-ins only; the bundle gets one
 * that also defers better-sqlite3, a native addon a snapshot cannot hold (see snapshot.js). The
 * bundle is compiled under its own file name, so stack traces read as main.js's.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const v8 = require("node:v8");
const vm = require("node:vm");

const MAIN = process.env.AGENT_SNAPSHOT_MAIN;
if (!MAIN) throw new Error("snapshot-entry.js is run by snapshot.js");

function bundleRequire(name) {
  if (name === "better-sqlite3") {
    // A native addon: loaded beside main.js the first time the agent opens a database.
    let real;
    const load = () => (real ??= require("node:module").createRequire(MAIN)("better-sqlite3"));
    // Statics and construction reach the real class; `__esModule`, which the bundle's import
    // interop reads while the modules are evaluated (here, at build), must not load it.
    return new Proxy(function BetterSqlite3() {}, {
      construct: (_t, args) => new (load())(...args),
      apply: (_t, self, args) => load().apply(self, args),
      get: (_t, k) => (k === "__esModule" ? undefined : load()[k]),
    });
  }
  return require(name);
}

const wrapper = vm.compileFunction(fs.readFileSync(MAIN, "utf8").replace(/^#!.*/, ""), ["exports", "require", "module", "__filename", "__dirname"], { filename: MAIN });
// Not the process's main module: the bundle's own start (require.main === module) stays off.
const mod = { exports: {} };
wrapper.call(mod.exports, mod.exports, bundleRequire, mod, MAIN, path.dirname(MAIN));
v8.startupSnapshot.setDeserializeMainFunction(() => mod.exports.main({ startedFrom: "snapshot" }));
