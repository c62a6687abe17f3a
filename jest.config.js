/** One jest run for every workspace. Sources are transformed by swc (fast); `tsc -b` runs before
 * jest in `npm test`, so type errors still fail the suite. */
const swc = ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }];
// kube-client.ts keeps its dynamic import() as is: @kubernetes/client-node is ESM-only, and jest
// (run with --experimental-vm-modules) loads it as ESM only from a real import().
const swcKeepImport = ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs", ignoreDynamic: true } }];
module.exports = {
  testEnvironment: "node",
  transform: { "kube-client\\.ts$": swcKeepImport, "^.+\\.ts$": swc },
  moduleNameMapper: { "^@concierge/protocol$": "<rootDir>/protocol/src/index.ts" },
  testMatch: ["<rootDir>/*/src/**/*.test.ts", "<rootDir>/*/test/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  globalSetup: "<rootDir>/test-support/global-setup.js",
  testTimeout: 30000,
  maxWorkers: 2,
};
