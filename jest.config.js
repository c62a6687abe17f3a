/** One jest run for every workspace. Sources are transformed by swc (fast); `tsc -b` runs before
 * jest in `npm test`, so type errors still fail the suite. */
const swc = ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }];
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": swc },
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
