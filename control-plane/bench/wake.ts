/**
 * `npm run bench -- wake [--rounds=10] [--boosts=off,1,2] [--image=concierge-agent:latest] [--base=node:24-bookworm-slim]`
 *
 * Wake from stopped only, many times, interleaved: one sandbox per startup CPU boost (SANDBOX_START_CPUS;
 * "off" for none) and a bare Node container (the coldstart bench's floor, no boost), each stopped and
 * woken once per round in turn, so every variant sees the same moments of a loaded host. A sandbox's
 * wake is ensure() to the answered signed handshake, split into the database (the user's row, to
 * state provisioning), the daemon (image and container inspected, the boost raised if it is not
 * set yet, `docker start`, the inspect after it) and the agent's start up to the handshake. The
 * bare container's is `docker start` until its port accepts a connection. After every wake the
 * sandbox's CPU limit is read back once its boost was taken back: it must be the configured 0.5.
 *
 * Everything it creates is labelled concierge.test-run=bench-<id> and removed at the end.
 */
import { execFileSync } from "node:child_process";
import type Dockerode from "dockerode";
import { LABEL, containerName } from "../src/sandboxes/container-spec";
import { waitForPort } from "../src/sandboxes/port-probe";
import { SandboxService, type ProvisionStep } from "../src/sandboxes/sandbox-service";
import { LIMITS, arg, createBenchKit, median, sleep } from "./sandbox-kit";

const ROUNDS = Math.max(1, Math.min(50, Number(arg("rounds", "10"))));
const BOOSTS = arg("boosts", "off,1,2").split(",").map((b) => b.trim());
const IMAGE = arg("image", process.env.SANDBOX_IMAGE ?? "concierge-agent:latest");
const BASE = arg("base", "node:24-bookworm-slim");

async function main(): Promise<void> {
  execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "pipe" });
  execFileSync("docker", ["image", "inspect", BASE], { stdio: "pipe" });
  const kit = await createBenchKit(IMAGE);
  const steps = new Map<string, Partial<Record<ProvisionStep, number>>>();
  const serviceFor = (boost: string) =>
    new SandboxService({
      db: kit.database.db,
      runtime: kit.runtime,
      credentials: kit.credentials,
      settings: { image: IMAGE, limits: LIMITS, gatewayPort: () => 3001, startCpus: boost === "off" ? undefined : Number(boost) },
      waitReady: (t, o) => kit.connections.connect(t, o),
      disconnect: (id) => kit.connections.close(id),
      logger: kit.logger,
      readyTimeoutMs: 60_000,
      hooks: { onStep: (step, userId) => void steps.set(userId, { ...steps.get(userId), [step]: performance.now() }) },
    });
  const wakes: Record<string, { total: number[]; before: number[]; start: number[]; agent: number[] }> = {};
  const bare: number[] = [];
  try {
    const variants = await Promise.all(
      BOOSTS.map(async (boost) => {
        const service = serviceFor(boost);
        const userId = await kit.createUser(`wake ${boost}`);
        await service.ensure(userId);
        wakes[boost] = { total: [], before: [], start: [], agent: [] };
        return { boost, service, userId };
      }),
    );
    const floor: Dockerode.Container = await kit.docker.createContainer({
      name: `concierge-${kit.run}-bare-wake`,
      Image: BASE,
      Cmd: ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(8080, '0.0.0.0')"],
      Labels: { [LABEL.testRun]: kit.run },
      HostConfig: { NetworkMode: kit.network, Memory: LIMITS.memoryMb * 1024 * 1024, NanoCpus: LIMITS.cpus * 1e9, PidsLimit: LIMITS.pids },
    });
    for (let round = 0; round < ROUNDS; round++) {
      for (const { boost, service, userId } of variants) {
        await service.stop(userId);
        await sleep(200);
        const t = performance.now();
        await service.ensure(userId);
        const end = performance.now();
        const s = steps.get(userId)!;
        const w = wakes[boost]!;
        w.total.push(end - t);
        w.before.push(s.row! - t);
        w.start.push(s.started! - s.row!);
        w.agent.push(s.ready! - s.started!);
        await service.cpuSettled(userId);
        const nano = (await kit.docker.getContainer(containerName(userId)).inspect()).HostConfig.NanoCpus ?? 0;
        if (nano !== LIMITS.cpus * 1e9) throw new Error(`boost ${boost}: running at ${nano / 1e9} CPU after its wake, not ${LIMITS.cpus}`);
      }
      if (round > 0) await floor.stop({ t: 5 });
      await sleep(200);
      const t = performance.now();
      await floor.start();
      const ip = (await floor.inspect()).NetworkSettings.Networks[kit.network]?.IPAddress ?? "";
      if (!(await waitForPort(`ws://${ip}:8080`, { timeoutMs: 30_000, intervalMs: 10 }))) throw new Error("bare node never listened");
      bare.push(performance.now() - t);
      process.stderr.write(`  round ${round + 1}/${ROUNDS}: ${BOOSTS.map((b) => `${b} ${wakes[b]!.total.at(-1)!.toFixed(0)} ms`).join(", ")}, bare ${bare.at(-1)!.toFixed(0)} ms\n`);
    }
  } finally {
    await kit.cleanup();
  }
  const m = (xs: number[]) => median(xs).toFixed(0);
  process.stdout.write(
    [
      "",
      `wake from stopped: ${ROUNDS} interleaved rounds, ${IMAGE}, limits ${LIMITS.cpus} CPU / ${LIMITS.memoryMb} MiB; floor: bare \`docker start\` of ${BASE} (no boost)`,
      "",
      "| startup boost | wake, median | ratio to the bare floor | database | daemon: inspect, docker start, inspect | agent start + signed handshake |",
      "|---|---|---|---|---|---|",
      ...BOOSTS.map((b) => {
        const w = wakes[b]!;
        return `| ${b === "off" ? "off" : `${b} CPU`} | ${m(w.total)} ms | ${(median(w.total) / median(bare)).toFixed(2)}× | ${m(w.before)} ms | ${m(w.start)} ms | ${m(w.agent)} ms |`;
      }),
      `| bare node floor | ${m(bare)} ms | 1.00× | | | |`,
      "",
    ].join("\n"),
  );
}

main().catch((err) => {
  process.stderr.write(`wake bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
