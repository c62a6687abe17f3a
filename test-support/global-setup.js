// Runs once before the whole jest run: says loudly which real dependencies the suite will use.
const { execFileSync } = require("node:child_process");

module.exports = async function globalSetup() {
  let docker = false;
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 10000 });
    docker = true;
  } catch {
    docker = false;
  }
  process.env.TEST_DOCKER_AVAILABLE = docker ? "1" : "0";
  const lines = [];
  lines.push(`PostgreSQL: ${process.env.DATABASE_URL ? "real server from DATABASE_URL, plus embedded PGlite" : "embedded PGlite only (set DATABASE_URL to also run on a real server)"}`);
  if (docker) lines.push("Docker: daemon answers; Docker tests run");
  else if (process.env.REQUIRE_DOCKER === "1") lines.push("Docker: NOT available and REQUIRE_DOCKER=1: Docker tests will FAIL");
  else lines.push("Docker: NOT available: every Docker-dependent test is SKIPPED (set REQUIRE_DOCKER=1 to make that a failure)");
  const bar = "=".repeat(78);
  process.stdout.write(`\n${bar}\n${lines.map((l) => `  ${l}`).join("\n")}\n${bar}\n`);
};
