/**
 * Jest resolver for AGENT_UNDER_TEST=bundle: every import of an agent module (sandbox-image/src/...)
 * from outside the agent's sources resolves to a shim that returns that module from the esbuild
 * bundle (sandbox-image/bundle/main.js, made by `node sandbox-image/bundle.js`). The agent's tests
 * then exercise the very file the image runs, not the TypeScript sources.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const src = path.resolve(__dirname, "../sandbox-image/src") + path.sep;
const shims = path.resolve(__dirname, "../sandbox-image/bundle/modules");

module.exports = (request, options) => {
  const resolved = options.defaultResolver(request, options);
  if (!resolved.startsWith(src) || options.basedir.startsWith(src) || !resolved.endsWith(".ts")) return resolved;
  const shim = path.join(shims, resolved.slice(src.length, -3) + ".js");
  if (!fs.existsSync(shim)) throw new Error(`AGENT_UNDER_TEST=bundle: no bundle shim for ${resolved}: run node sandbox-image/bundle.js`);
  return shim;
};
