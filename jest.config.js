/** One jest run for every workspace. Sources are transformed by swc (fast); `tsc -b` runs before
 * jest in `npm test`, so type errors still fail the suite. */
const swc = ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }];
// kube-client.ts keeps its dynamic import() as is: @kubernetes/client-node is ESM-only, and jest
// (run with --experimental-vm-modules) loads it as ESM only from a real import().
const swcKeepImport = ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs", ignoreDynamic: true } }];
module.exports = {
  testEnvironment: "node",
  transform: { "kube-client\\.ts$": swcKeepImport, "^.+\\.ts$": swc },
  moduleNameMapper: {
    "^@concierge/protocol$": "<rootDir>/protocol/src/index.ts",
    // Another Node than the host's (CI's Node 24 pass): a better-sqlite3 built for it, see
    // test-support/sqlite-redirect.js.
    ...(process.env.AGENT_SQLITE_DIR ? { "^better-sqlite3$": process.env.AGENT_SQLITE_DIR } : {}),
  },
  // The agent's tests against its esbuild bundle instead of its sources (test-support/bundle-resolver.js).
  ...(process.env.AGENT_UNDER_TEST === "bundle" ? { resolver: "<rootDir>/test-support/bundle-resolver.js" } : {}),
  testMatch: ["<rootDir>/*/src/**/*.test.ts", "<rootDir>/*/test/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  globalSetup: "<rootDir>/test-support/global-setup.js",
  testTimeout: 30000,
  maxWorkers: 2,
};
