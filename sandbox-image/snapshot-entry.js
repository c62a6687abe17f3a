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

/** Where Node would find a package for main.js: the nearest node_modules above it that has it. */
function packageDir(name) {
  for (let dir = path.dirname(MAIN); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name} not found above ${MAIN}`);
  }
}

/**
 * better-sqlite3's lib/ (a dozen CommonJS files) evaluated into the snapshot, so a start does not
 * resolve, read and compile them. The package loads its addon only in the Database constructor,
 * through `bindings`, which searches a dozen paths; here that is one resolution of the package at
 * run time (so a redirect of `better-sqlite3`, as the Node 24 tests use, still applies) and a
 * load of its build/Release binary.
 */
function betterSqlite3() {
  const addon = () => {
    const index = createRequire(MAIN).resolve("better-sqlite3");
    return createRequire(MAIN)(path.join(path.dirname(index), "../build/Release/better_sqlite3.node"));
  };
  const cache = new Map();
  const file = (from, request) => {
    const base = path.resolve(from, request);
    const found = [base, `${base}.js`, path.join(base, "index.js")].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!found) throw new Error(`better-sqlite3: cannot find ${request} from ${from}`);
    return found;
  };
  const load = (filename) => {
    const cached = cache.get(filename);
    if (cached) return cached.exports;
    const mod = { exports: {} };
    cache.set(filename, mod);
    const dirname = path.dirname(filename);
    const req = (request) => (request === "bindings" ? () => addon() : request.startsWith(".") ? load(file(dirname, request)) : require(request));
    vm.compileFunction(fs.readFileSync(filename, "utf8"), ["exports", "require", "module", "__filename", "__dirname"], { filename }).call(mod.exports, mod.exports, req, mod, filename, dirname);
    return mod.exports;
  };
  return load(file(packageDir("better-sqlite3"), "lib/index.js"));
}

function bundleRequire(name) {
  return name === "better-sqlite3" ? betterSqlite3() : require(name);
}

// What the gateway's listen() loads and compiles on its first call, done here once: net resolves
// the host and tests it with isIPv6 (a large regular expression), and hands the listen to cluster,
// which loads child_process and dgram (~15 ms of a start in the sandbox, docs/sandbox-speed.md).
net.isIPv6("::1");
require("node:cluster");

const wrapper = vm.compileFunction(fs.readFileSync(MAIN, "utf8").replace(/^#!.*/, ""), ["exports", "require", "module", "__filename", "__dirname"], { filename: MAIN });
// Not the process's main module: the bundle's own start (require.main === module) stays off.
const mod = { exports: {} };
wrapper.call(mod.exports, mod.exports, bundleRequire, mod, MAIN, path.dirname(MAIN));
v8.startupSnapshot.setDeserializeMainFunction(() => mod.exports.main({ startedFrom: "snapshot" }));
