/**
 * Preloaded (`node --require`) when the agent's tests run under another Node than the host's (CI's
 * Node 24 pass): `require("better-sqlite3")` then loads AGENT_SQLITE_DIR, a copy whose native binary
 * is built for the running Node (scripts/node-runtime.sh sqlite), and the host's node_modules stay
 * as they are. Jest resolves modules itself: jest.config.js maps the same name for test code; this
 * covers the agent processes the tests spawn.
 */
"use strict";
const Module = require("node:module");

const dir = process.env.AGENT_SQLITE_DIR;
if (dir) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    return resolve.call(this, request === "better-sqlite3" ? dir : request, ...rest);
  };
}
