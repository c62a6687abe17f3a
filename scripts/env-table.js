#!/usr/bin/env node
// Rewrites the configuration table in README.md from control-plane/src/config.ts (built first).
const fs = require("node:fs");
const path = require("node:path");
const { envTableMarkdown } = require("../control-plane/dist/config.js");
const readme = path.resolve(__dirname, "../README.md");
const text = fs.readFileSync(readme, "utf8");
const next = text.replace(/<!-- env-table:start -->[\s\S]*<!-- env-table:end -->/, `<!-- env-table:start -->\n${envTableMarkdown()}\n<!-- env-table:end -->`);
fs.writeFileSync(readme, next);
