/**
 * `npm run bench -- density [--sandboxes=300] [--batch=10] [--budget-minutes=20] [--idle-seconds=60] [--image=...]`
 *
 * Starts N sandboxes on this machine through the real SandboxService (hardened containers, the
 * real agent, each left connected to the ConnectionManager), in batches started in parallel, and
 * stops starting when the time budget is spent. Then, with all of them idle and connected, it
 * reports the host's free memory and swap, and this control plane's own RSS and CPU (the service,
 * its database and every socket, pings included) over an idle window; again with all of them
 * frozen (paused, not pinged). The control plane here is this process: SandboxService,
 * ConnectionManager and an in-memory PGlite database, built as main.ts builds them (no HTTP server,
 * no channels). Everything it made is removed at the end, whatever happened.
 */
import { readFileSync } from "node:fs";
import { containerName } from "../src/sandboxes/container-spec";
import { arg, createBenchKit, median, mib, sleep } from "./sandbox-kit";

const N = Math.max(1, Math.min(400, Number(arg("sandboxes", "300"))));
const BATCH = Math.max(1, Math.min(50, Number(arg("batch", "10"))));
const BUDGET_MS = Math.max(1, Number(arg("budget-minutes", "20"))) * 60_000;
const IDLE_MS = Math.max(5, Number(arg("idle-seconds", "60"))) * 1000;
const IMAGE = arg("image", process.env.SANDBOX_IMAGE ?? "concierge-agent:latest");
const FAR_FUTURE = new Date(Date.now() + 365 * 24 * 3600_000);

interface Host {
  availableMiB: number;
  swapUsedMiB: number;
}

function host(): Host {
  const info = Object.fromEntries(
    readFileSync("/proc/meminfo", "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [k, v] = l.split(":");
        return [k!, Number.parseInt(v!, 10) / 1024];
      }),
  );
  return { availableMiB: info.MemAvailable!, swapUsedMiB: info.SwapTotal! - info.SwapFree! };
}

/** This process's CPU (share of one core) and RSS over an idle window. */
async function idleWindow(ms: number): Promise<{ cpuPct: number; rssMiB: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const cpu = process.cpuUsage(cpu0);
  return { cpuPct: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100, rssMiB: process.memoryUsage().rss / 1024 / 1024 };
}

async function main(): Promise<void> {
  const rss0 = process.memoryUsage().rss / 1024 / 1024;
  const kit = await createBenchKit(IMAGE);
  const rssKit = process.memoryUsage().rss / 1024 / 1024;
  // After the control plane's own start, so the drop below is the sandboxes'.
  const before = host();
  const started: string[] = [];
  const startMs: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  try {
    for (let i = 0; i < N && performance.now() - t0 < BUDGET_MS; i += BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => kit.createUser(`density ${i + j}`)));
      await Promise.all(
        batch.map(async (userId) => {
          const t = performance.now();
          try {
            await kit.service.ensure(userId);
            started.push(userId);
            startMs.push(performance.now() - t);
          } catch (err) {
            failed++;
            process.stderr.write(`  could not start a sandbox: ${(err as Error).message}\n`);
          }
        }),
      );
      const h = host();
      process.stderr.write(`  ${started.length}/${N} running (${failed} failed) after ${((performance.now() - t0) / 1000).toFixed(0)} s; host available ${h.availableMiB.toFixed(0)} MiB, swap used ${h.swapUsedMiB.toFixed(0)} MiB\n`);
    }
    const rampS = (performance.now() - t0) / 1000;
    await sleep(10_000); // let the last starts settle before measuring idle
    const running = await idleWindow(IDLE_MS);
    const hostRunning = host();
    const open = kit.connections.openCount;
    const sample = await Promise.all(started.slice(0, 10).map((u) => kit.memoryOf(containerName(u)).catch(() => null)));

    let frozen = 0;
    for (let i = 0; i < started.length; i += BATCH) {
      const r = await Promise.all(started.slice(i, i + BATCH).map((u) => kit.service.freezeIfIdle(u, FAR_FUTURE).catch(() => false)));
      frozen += r.filter(Boolean).length;
    }
    const idleFrozen = await idleWindow(IDLE_MS);
    const hostFrozen = host();

    const perSandbox = (before.availableMiB - hostRunning.availableMiB) / Math.max(1, started.length);
    process.stdout.write(
      [
        "",
        `density: ${started.length} of ${N} sandboxes of ${IMAGE} started (${failed} failed) in ${rampS.toFixed(0)} s, batches of ${BATCH}; idle windows of ${IDLE_MS / 1000} s`,
        `start time per sandbox under that load: median ${median(startMs).toFixed(0)} ms, max ${Math.max(...startMs).toFixed(0)} ms`,
        "",
        "| | before | all running, connected, idle | all frozen |",
        "|---|---|---|---|",
        `| host memory available | ${before.availableMiB.toFixed(0)} MiB | ${hostRunning.availableMiB.toFixed(0)} MiB | ${hostFrozen.availableMiB.toFixed(0)} MiB |`,
        `| host swap used | ${before.swapUsedMiB.toFixed(0)} MiB | ${hostRunning.swapUsedMiB.toFixed(0)} MiB | ${hostFrozen.swapUsedMiB.toFixed(0)} MiB |`,
        `| control plane RSS | ${rss0.toFixed(0)} MiB (${rssKit.toFixed(0)} MiB with its database open) | ${running.rssMiB.toFixed(0)} MiB | ${idleFrozen.rssMiB.toFixed(0)} MiB |`,
        `| control plane CPU (of one core) | | ${running.cpuPct.toFixed(2)} % | ${idleFrozen.cpuPct.toFixed(2)} % |`,
        `| sockets open | | ${open} | ${kit.connections.openCount} (${frozen} frozen) |`,
        "",
        `memory per sandbox as the daemon reports it (median of ${sample.length}): ${median(sample.map(mib)).toFixed(1)} MiB`,
        `host memory per running sandbox: ${perSandbox.toFixed(1)} MiB (drop in MemAvailable / sandboxes; the machine is shared, so other work moves it too)`,
        "",
      ].join("\n"),
    );
  } finally {
    process.stderr.write("  removing everything the bench made...\n");
    await kit.cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`density bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
