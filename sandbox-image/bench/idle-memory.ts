/**
 * `npm run bench -- idle-memory [--image=concierge-agent:latest] [--users=2] [--base=node:24-bookworm-slim]`
 *
 * Where an idle sandbox's memory goes (docs/sandbox-speed.md, fourth pass). Per sandbox of the
 * bench kit (the real SandboxService, hardened container, signed handshake), 3 s after the
 * handshake like the coldstart bench, and for one bare floor container like its floor: what the
 * daemon reports (usage - inactive_file), the container's cgroup memory.stat (anonymous, page cache,
 * kernel memory) and the node process's /proc/<pid>/smaps grouped by mapping (V8's 256 KiB heap
 * pages and other small anonymous mappings, the malloc heap, 1-8 MiB mappings, the rest).
 *
 * Reads the cgroup and /proc from the host: run it as root on the Docker host itself (cgroup v1
 * with the cgroupfs driver, or v2); where a file cannot be read the figure says n/a. Everything it
 * creates is labelled concierge.test-run=bench-<id> and removed at the end.
 */
import { readFileSync } from "node:fs";
import { containerName, LABEL } from "../../control-plane/src/sandboxes/container-spec";
import { waitForPort } from "../../control-plane/src/sandboxes/port-probe";
import { LIMITS, arg, createBenchKit, sleep, type BenchKit } from "../../control-plane/bench/sandbox-kit";

const IMAGE = arg("image", process.env.SANDBOX_IMAGE ?? "concierge-agent:latest");
const USERS = Math.max(1, Math.min(5, Number(arg("users", "2"))));
const BASE = arg("base", "node:24-bookworm-slim");

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};
const MiB = (bytes: number | undefined) => (bytes === undefined || Number.isNaN(bytes) ? "n/a" : (bytes / 1048576).toFixed(2));

function cgroupDir(id: string): string | undefined {
  const candidates = [`/sys/fs/cgroup/memory/docker/${id}`, `/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`];
  return candidates.find((d) => read(`${d}/cgroup.procs`) !== undefined);
}

/** V8 allocates its heap in 256 KiB pages; other small anonymous mappings are few (a thread's TLS, glibc's mmap'd chunks). */
const HEAP_PAGES = "rw anonymous mappings <= 1 MiB (V8 heap pages)";

/** Anonymous kB of the process's mappings, by kind. */
function smaps(pid: number): Record<string, number> | undefined {
  const text = read(`/proc/${pid}/smaps`);
  if (!text) return undefined;
  const out: Record<string, number> = { [HEAP_PAGES]: 0, "malloc heap [heap]": 0, "1-8 MiB mappings": 0, rest: 0 };
  let kind = "rest";
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const kb = (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1024;
      const [perms, name] = [head[3]!, head[4]!];
      kind = name === "[heap]" ? "malloc heap [heap]" : name || perms !== "rw-p" ? "rest" : kb <= 1024 ? HEAP_PAGES : kb <= 8192 ? "1-8 MiB mappings" : "rest";
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon) out[kind]! += Number(anon[1]);
  }
  return out;
}

async function report(kit: BenchKit, label: string, name: string): Promise<string[]> {
  const info = await kit.docker.getContainer(name).inspect();
  const dir = cgroupDir(info.Id);
  const stat = Object.fromEntries(
    (read(`${dir}/memory.stat`) ?? "")
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
      .map(([k, v]) => [k, Number(v)]),
  ) as Record<string, number>;
  const kmem = Number(read(`${dir}/memory.kmem.usage_in_bytes`) ?? NaN);
  const anonBytes = stat.rss ?? stat.anon;
  const cache = stat.cache ?? stat.file;
  const kernel = Number.isNaN(kmem) ? stat.kernel : kmem;
  const pids = (read(`${dir}/cgroup.procs`) ?? "").trim().split("\n").map(Number).filter(Boolean);
  const node = pids.find((p) => (read(`/proc/${p}/cmdline`) ?? "").startsWith("node\0"));
  const maps = node ? smaps(node) : undefined;
  return [
    `${label}: idle ${MiB((await kit.memoryOf(name)) ?? undefined)} MiB (usage - inactive_file); cgroup: anonymous ${MiB(anonBytes)}, page cache ${MiB(cache)} (active_file ${MiB(stat.active_file)}), kernel ${MiB(kernel)}`,
    `  node (pid ${node ?? "n/a"}) anonymous by mapping, MiB: ${maps ? Object.entries(maps).map(([k, kb]) => `${k} ${(kb / 1024).toFixed(2)}`).join(", ") : "n/a"}`,
  ];
}

async function main(): Promise<void> {
  const kit = await createBenchKit(IMAGE);
  const lines: string[] = [];
  try {
    for (let i = 0; i < USERS; i++) {
      const userId = await kit.createUser(`idle-memory ${i}`);
      await kit.service.ensure(userId);
      await sleep(3000);
      lines.push(...(await report(kit, `sandbox ${i + 1} (${IMAGE})`, containerName(userId))));
    }
    const bare = `concierge-${kit.run}-bare`;
    const c = await kit.docker.createContainer({
      name: bare,
      Image: BASE,
      Cmd: ["node", "-e", "require('http').createServer((q, s) => s.end('ok')).listen(8080, '0.0.0.0')"],
      Labels: { [LABEL.testRun]: kit.run },
      HostConfig: { NetworkMode: kit.network, Memory: LIMITS.memoryMb * 1048576, NanoCpus: LIMITS.cpus * 1e9, PidsLimit: LIMITS.pids },
    });
    await c.start();
    const ip = (await c.inspect()).NetworkSettings.Networks[kit.network]?.IPAddress ?? "";
    if (!(await waitForPort(`ws://${ip}:8080`, { timeoutMs: 30_000, intervalMs: 10 }))) throw new Error("bare node never listened");
    await sleep(3000);
    lines.push(...(await report(kit, `bare floor (${BASE})`, bare)));
  } finally {
    await kit.cleanup();
  }
  process.stdout.write(`\nidle-memory: ${USERS} sandbox(es) of ${IMAGE} and the bare floor, ${LIMITS.cpus} CPU / ${LIMITS.memoryMb} MiB, 3 s after ready\n\n${lines.join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`idle-memory bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
