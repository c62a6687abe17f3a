/**
 * `npm run bench -- coldstart [--users=N] [--image=concierge-agent:latest] [--base=node:24-bookworm-slim] [--start-cpus=2]`
 *
 * Per sandbox, on the real Docker daemon through the real SandboxService (hardened container,
 * private network, signed handshake with the real agent):
 *   - cold start: ensure() for a new user -> container created and started, the agent answered the handshake
 *   - idle memory: what the daemon reports for the idle agent a few seconds after start
 *   - wake from frozen: ensure() + a `status` request for a frozen (paused) sandbox -> answered
 *   - wake from stopped: ensure() for a stopped sandbox -> started, handshake answered
 * Beside each, in the same run, the floor: a bare `docker run` of a minimal Node container from the
 * base image (an HTTP server that listens at once) with the same limits, measured until its port
 * accepts a connection (cold, wake) or until it answers a request after `docker unpause` (frozen).
 * Where the sandbox's cold start goes is split by the service's provisioning steps.
 * With a startup CPU boost (--start-cpus, default SANDBOX_START_CPUS or 2, above the 0.5 CPU limit)
 * every user's sandbox is measured twice, boost on and boost off, in the same run; the floors never
 * get a boost.
 *
 * Everything it creates is labelled concierge.test-run=bench-<id> and removed at the end.
 */
import { execFileSync } from "node:child_process";
import { request } from "node:http";
import type Dockerode from "dockerode";
import { LABEL, containerName } from "../src/sandboxes/container-spec";
import { waitForPort } from "../src/sandboxes/port-probe";
import type { SandboxService } from "../src/sandboxes/sandbox-service";
import { LIMITS, arg, createBenchKit, median, mib, sleep, type BenchKit } from "./sandbox-kit";

const USERS = Math.max(1, Math.min(20, Number(arg("users", "3"))));
const IMAGE = arg("image", process.env.SANDBOX_IMAGE ?? "concierge-agent:latest");
const BASE = arg("base", "node:24-bookworm-slim");
const START_CPUS = Number(arg("start-cpus", process.env.SANDBOX_START_CPUS ?? "2"));
const BOOST = START_CPUS > LIMITS.cpus;
const FAR_FUTURE = new Date(Date.now() + 365 * 24 * 3600_000);

type Figures = { cold: number[]; idle: number[]; frozen: number[]; wake: number[] };
const figures = (): Figures => ({ cold: [], idle: [], frozen: [], wake: [] });

function get(ip: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port: 8080, path: "/", timeout: 10_000 }, (res) => res.resume().on("end", () => resolve()));
    req.on("error", reject).end();
  });
}

/** The same hardening as a sandbox (container-spec.ts), for the floor that pays what the daemon charges for it. */
const HARDENED = {
  ReadonlyRootfs: true,
  CapDrop: ["ALL"],
  SecurityOpt: ["no-new-privileges"],
  Tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=64m" },
  Init: true,
};

async function bareNode(kit: BenchKit, i: number, hardened: boolean): Promise<{ cold: number; idle: number | null; frozen: number; wake: number }> {
  const name = `concierge-${kit.run}-bare-${hardened ? "hardened-" : ""}${i}`;
  const volume = hardened ? (await kit.docker.createVolume({ Name: `${name}-data`, Labels: { [LABEL.testRun]: kit.run } })).name : undefined;
  const t0 = performance.now();
  const c: Dockerode.Container = await kit.docker.createContainer({
    name,
    Image: BASE,
    Cmd: ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(8080, '0.0.0.0')"],
    Labels: { [LABEL.testRun]: kit.run },
    User: hardened ? "10001:10001" : undefined,
    HostConfig: {
      NetworkMode: kit.network,
      Memory: LIMITS.memoryMb * 1024 * 1024,
      NanoCpus: LIMITS.cpus * 1e9,
      PidsLimit: LIMITS.pids,
      ...(hardened ? { ...HARDENED, Mounts: [{ Type: "volume" as const, Source: volume!, Target: "/data" }] } : {}),
    },
  });
  await c.start();
  const ip = async () => (await c.inspect()).NetworkSettings.Networks[kit.network]?.IPAddress ?? "";
  if (!(await waitForPort(`ws://${await ip()}:8080`, { timeoutMs: 30_000, intervalMs: 10 }))) throw new Error("bare node never listened");
  const cold = performance.now() - t0;
  await sleep(3000);
  const idle = await kit.memoryOf(name);
  await c.pause();
  const t1 = performance.now();
  await c.unpause();
  await get(await ip());
  const frozen = performance.now() - t1;
  await c.stop({ t: 5 });
  const t2 = performance.now();
  await c.start();
  if (!(await waitForPort(`ws://${await ip()}:8080`, { timeoutMs: 30_000, intervalMs: 10 }))) throw new Error("bare node never listened after start");
  return { cold, idle, frozen, wake: performance.now() - t2 };
}

async function main(): Promise<void> {
  execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "pipe" });
  execFileSync("docker", ["image", "inspect", BASE], { stdio: "pipe" });
  const kit = await createBenchKit(IMAGE, { startCpus: BOOST ? START_CPUS : undefined });
  const { connections } = kit;
  const sandbox = figures();
  const off = figures();
  const bare = figures();
  const hard = figures();
  const phases = { create: [] as number[], start: [] as number[], ready: [] as number[] };
  const offPhases = { create: [] as number[], start: [] as number[], ready: [] as number[] };
  let cpuAfter = "";
  /** One user's sandbox through cold start, idle, frozen and stopped, with the given service. */
  const measure = async (service: SandboxService, name: string, into: Figures, split: typeof phases) => {
    const userId = await kit.createUser(name);
    let t = performance.now();
    await service.ensure(userId);
    into.cold.push(performance.now() - t);
    const s = kit.steps.get(userId)!;
    split.create.push(s.created! - t);
    split.start.push(s.started! - s.created!);
    split.ready.push(s.ready! - s.started!);
    await service.cpuSettled(userId);
    await sleep(3000);
    into.idle.push(mib(await kit.memoryOf(containerName(userId))));

    if (!(await service.freezeIfIdle(userId, FAR_FUTURE))) throw new Error("the sandbox could not be frozen");
    t = performance.now();
    await connections.request(await service.ensure(userId), "status", {});
    into.frozen.push(performance.now() - t);

    await service.stop(userId);
    t = performance.now();
    await service.ensure(userId);
    into.wake.push(performance.now() - t);
    await service.cpuSettled(userId);
    // The steady state is the configured limit, boost or not: read back from the daemon.
    const nano = (await kit.docker.getContainer(containerName(userId)).inspect()).HostConfig.NanoCpus ?? 0;
    if (nano !== LIMITS.cpus * 1e9) throw new Error(`${name}: running at ${nano / 1e9} CPU after its start, not ${LIMITS.cpus}`);
    cpuAfter = `${nano / 1e9}`;
  };
  try {
    for (let i = 0; i < USERS; i++) {
      // Alternate which goes first, so neither always runs on the warmer daemon.
      const order = BOOST && i % 2 === 1 ? ["off", "on"] : ["on", "off"];
      for (const which of order) {
        if (which === "on") await measure(kit.service, `bench ${i}`, sandbox, phases);
        else if (BOOST) await measure(kit.unboosted, `bench ${i} unboosted`, off, offPhases);
      }

      const b = await bareNode(kit, i, false);
      const hb = await bareNode(kit, i, true);
      for (const [into, from] of [[bare, b], [hard, hb]] as const) {
        into.cold.push(from.cold);
        into.idle.push(mib(from.idle));
        into.frozen.push(from.frozen);
        into.wake.push(from.wake);
      }
      const f = (x: number, d = 0) => x.toFixed(d);
      process.stderr.write(
        `  sandbox ${i + 1}/${USERS}: cold ${f(sandbox.cold[i]!)} ms, idle ${f(sandbox.idle[i]!, 1)} MiB, frozen->answer ${f(sandbox.frozen[i]!)} ms, wake ${f(sandbox.wake[i]!)} ms` +
          (BOOST ? ` | boost off: cold ${f(off.cold[i]!)} ms, wake ${f(off.wake[i]!)} ms` : "") +
          ` | bare: cold ${f(b.cold)} ms, idle ${f(mib(b.idle), 1)} MiB, unpause->answer ${f(b.frozen)} ms, wake ${f(b.wake)} ms` +
          ` | hardened bare: cold ${f(hb.cold)} ms, wake ${f(hb.wake)} ms\n`,
      );
    }
  } finally {
    await kit.cleanup();
  }
  const cell = (a: number[], b: number[], unit: string, digits: number) => `${median(a).toFixed(digits)} ${unit} (${(median(a) / median(b)).toFixed(2)}×)`;
  const row = (label: string, a: number[], o: number[], b: number[], h: number[], unit: string, goal: string, digits = 0) =>
    `| ${label} | ${median(a).toFixed(digits)} ${unit} | ${median(b).toFixed(digits)} ${unit} | ${(median(a) / median(b)).toFixed(2)}× | ${goal} | ${median(h).toFixed(digits)} ${unit} (${(median(a) / median(h)).toFixed(2)}×) |` +
    (BOOST ? ` ${cell(o, b, unit, digits)} |` : "");
  process.stdout.write(
    [
      "",
      `coldstart: ${USERS} sandbox(es) of ${IMAGE}, limits ${LIMITS.cpus} CPU / ${LIMITS.memoryMb} MiB / ${LIMITS.pids} pids; floor: bare \`docker run\` of ${BASE} with the same limits`,
      BOOST
        ? `startup CPU boost: ${START_CPUS} CPU (capped at the host's) until the handshake, then ${LIMITS.cpus} (read back after every wake: ${cpuAfter}); the floors get none`
        : "startup CPU boost: off",
      "",
      `| median per sandbox | concierge sandbox${BOOST ? " (boost on)" : ""} | bare node floor | ratio | goal | hardened bare node (ratio) |${BOOST ? " boost off (ratio to the bare floor) |" : ""}`,
      `|---|---|---|---|---|---|${BOOST ? "---|" : ""}`,
      row("cold start (create + start + handshake)", sandbox.cold, off.cold, bare.cold, hard.cold, "ms", "≤ 1.3×"),
      row("wake from stopped (start + handshake)", sandbox.wake, off.wake, bare.wake, hard.wake, "ms", "≤ 1.3×"),
      row("wake from frozen (thaw + first answered request)", sandbox.frozen, off.frozen, bare.frozen, hard.frozen, "ms", "≤ 50 ms"),
      row("idle memory", sandbox.idle, off.idle, bare.idle, hard.idle, "MiB", "≤ 2×", 1),
      "",
      `cold start split (medians): create ${median(phases.create).toFixed(0)} ms, docker start ${median(phases.start).toFixed(0)} ms, port + signed handshake ${median(phases.ready).toFixed(0)} ms` +
        (BOOST ? `; boost off: ${median(offPhases.create).toFixed(0)} / ${median(offPhases.start).toFixed(0)} / ${median(offPhases.ready).toFixed(0)} ms` : ""),
      "ready: the agent answered the signed handshake (sandbox); the port accepted a connection (bare node). Frozen: docker pause, then",
      "the time from ensure() to the answer of a `status` request on the kept socket (sandbox), from unpause to an HTTP answer (bare).",
      "hardened bare node: the same bare container with the sandbox's hardening (read-only root, tmpfs, no capabilities,",
      "no-new-privileges, an init, non-root, a named volume): what the daemon charges for it, without the agent.",
      "",
    ].join("\n"),
  );
}

main().catch((err) => {
  process.stderr.write(`coldstart bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
