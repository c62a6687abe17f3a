import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { describeNeeding } from "../../test-support/describe-needing";

/** Debian's chromium package; playwright-core drives it and never downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = path.resolve(__dirname, "../../test-artifacts");

/**
 * `describe` for browser tests: skipped, loudly and by name, when chromium is not installed,
 * failing instead under CI or REQUIRE_DOCKER=1 (where .ci/run installs it).
 */
export function describeChromium(name: string, fn: () => void): void {
  describeNeeding(
    {
      available: existsSync(CHROMIUM),
      required: process.env.REQUIRE_DOCKER === "1" || Boolean(process.env.CI),
      failTitle: "needs chromium (CI / REQUIRE_DOCKER=1)",
      failMessage: `chromium is not installed at ${CHROMIUM}: apt-get install -y chromium`,
      skipReason: `no chromium at ${CHROMIUM}`,
      skipTag: "needs chromium",
    },
    name,
    fn,
  );
}

/**
 * Headless chromium with a fresh profile. Everything that could reach beyond loopback on its own
 * (updates, sync, QUIC, field trials, first-run pings) is switched off.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), "concierge-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-extensions",
      "--metrics-recording-only",
    ],
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
