import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FakeKubeApi, KubeObject, WatchEvent } from "./fake-kube-api";

/**
 * A kubelet for FakeKubeApi: every pod created in the watched namespace is run as a local child
 * process of the real agent (sandbox-image/dist/main.js), as ProcessRuntime runs it. Env comes from
 * the pod spec (value, and valueFrom.secretKeyRef read from the Secret in the fake store); each
 * volume maps to a host directory (a PVC to a per-claim directory that outlives the pod, an
 * emptyDir to a fresh one) and env values under a mount path are rewritten to it; the pod gets its
 * own loopback IP (127.x.y.z: the agent binds it as it would bind 0.0.0.0 in its own network
 * namespace). The readiness probe is a TCP connect, as in the pod spec. Deleting a pod sends
 * SIGTERM, SIGKILL after its grace period, then removes it. What this cannot prove: scheduling,
 * image pulls, securityContext enforcement, NetworkPolicy enforcement, resource limits.
 */
export interface FakeKubeletOptions {
  api: FakeKubeApi;
  agentEntry: string;
  /** The image's own ENV (WORKSPACE_TEMPLATES_DIR on a checkout). */
  imageEnv?: Record<string, string>;
  root?: string;
}

interface Running {
  child: ChildProcess | null;
  ip: string;
  deleting: boolean;
  restarts: number;
}

export class FakeKubelet {
  readonly root: string;
  private readonly pods = new Map<string, Running>();
  private readonly octet = 64 + Math.floor(Math.random() * 180);
  private nextIp = 1;
  private readonly onEvent = (ev: WatchEvent) => this.handle(ev);
  /** Every agent ever started, by pod name: a test's proof that wake made a new process. */
  readonly started: { pod: string; pid: number }[] = [];

  constructor(private readonly opts: FakeKubeletOptions) {
    this.root = opts.root ?? mkdtempSync(path.join(tmpdir(), "fake-kubelet-"));
    opts.api.gracefulPods = true;
    opts.api.logsOf = (ns, name, tail) => this.logs(ns, name, tail);
    opts.api.on("event", this.onEvent);
  }

  /** The host directory standing in for a PVC's volume. */
  claimDir(namespace: string, claim: string): string {
    return path.join(this.root, "pvc", namespace, claim);
  }

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  private handle(ev: WatchEvent): void {
    if (ev.resource !== "pods") return;
    const { name } = ev.object.metadata;
    const k = this.key(ev.namespace, name);
    if (ev.type === "ADDED") void this.run(ev.namespace, ev.object);
    else if (ev.type === "MODIFIED" && ev.object.metadata.deletionTimestamp) this.terminate(ev.namespace, name, Number(ev.object.metadata.deletionGracePeriodSeconds ?? 30));
    else if (ev.type === "DELETED") this.pods.delete(k);
  }

  private async run(ns: string, pod: KubeObject): Promise<void> {
    const k = this.key(ns, pod.metadata.name);
    const existing = this.pods.get(k);
    const state: Running = existing ?? { child: null, ip: `127.${this.octet}.${Math.floor(this.nextIp / 250)}.${(this.nextIp++ % 250) + 1}`, deleting: false, restarts: 0 };
    this.pods.set(k, state);
    const spec = pod.spec as { containers: Container[]; volumes?: Volume[] };
    const c = spec.containers[0]!;
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...(this.opts.imageEnv ?? {}) };
    const mounts = new Map<string, string>();
    for (const m of c.volumeMounts ?? []) {
      const vol = spec.volumes?.find((v) => v.name === m.name);
      if (!vol) continue;
      if (vol.persistentVolumeClaim) {
        if (!this.opts.api.get("persistentvolumeclaims", ns, vol.persistentVolumeClaim.claimName)) return this.waiting(ns, pod, "ContainerCreating");
        mounts.set(m.mountPath, this.claimDir(ns, vol.persistentVolumeClaim.claimName));
      } else {
        mounts.set(m.mountPath, path.join(this.root, "emptydir", ns, pod.metadata.name, m.name));
      }
    }
    for (const dir of mounts.values()) mkdirSync(dir, { recursive: true });
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef) {
        const secret = this.opts.api.get("secrets", ns, e.valueFrom.secretKeyRef.name);
        const raw = (secret?.data as Record<string, string> | undefined)?.[e.valueFrom.secretKeyRef.key];
        if (raw === undefined) return this.waiting(ns, pod, "CreateContainerConfigError");
        env[e.name] = Buffer.from(raw, "base64").toString("utf8");
      }
    }
    for (const [name, value] of Object.entries(env)) {
      for (const [mountPath, dir] of mounts) if (value === mountPath || value.startsWith(`${mountPath}/`)) env[name] = dir + value.slice(mountPath.length);
    }
    env.HOME = mounts.get("/tmp") ?? this.root;
    env.TMPDIR = env.HOME;
    // The pod's own network namespace, approximated: the agent binds its pod IP.
    if (env.AGENT_HOST === "0.0.0.0") env.AGENT_HOST = state.ip;
    const logFile = path.join(this.root, "logs", ns, `${pod.metadata.name}.log`);
    mkdirSync(path.dirname(logFile), { recursive: true });
    const fd = openSync(logFile, "a");
    const child = spawn(process.execPath, [this.opts.agentEntry], { env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    state.child = child;
    this.started.push({ pod: pod.metadata.name, pid: child.pid ?? -1 });
    const startedAt = new Date().toISOString();
    this.setStatus(ns, pod.metadata.name, state, { running: { startedAt } }, false, startedAt);
    child.on("exit", (code, signal) => this.exited(ns, pod, state, code ?? (signal ? 137 : 1)));
    const port = c.readinessProbe?.tcpSocket?.port;
    void this.probe(ns, pod.metadata.name, state, child, typeof port === "number" ? port : Number(env.AGENT_PORT), startedAt);
  }

  private async probe(ns: string, name: string, state: Running, child: ChildProcess, port: number, startedAt: string): Promise<void> {
    for (let i = 0; i < 600 && state.child === child && !state.deleting; i++) {
      if (await tcpOk(state.ip, port)) {
        if (state.child === child && !state.deleting) this.setStatus(ns, name, state, { running: { startedAt } }, true, startedAt);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private exited(ns: string, pod: KubeObject, state: Running, exitCode: number): void {
    const name = pod.metadata.name;
    state.child = null;
    if (state.deleting) return this.opts.api.remove("pods", ns, name);
    const terminated = { exitCode, reason: exitCode === 137 ? "Error" : exitCode === 0 ? "Completed" : "Error", finishedAt: new Date().toISOString() };
    const restartPolicy = (pod.spec as { restartPolicy?: string }).restartPolicy ?? "Always";
    const restart = restartPolicy === "Always" || (restartPolicy === "OnFailure" && exitCode !== 0);
    if (!restart) {
      this.opts.api.update("pods", ns, name, (o) => {
        o.status = { ...(o.status as object), phase: exitCode === 0 ? "Succeeded" : "Failed", conditions: [{ type: "Ready", status: "False" }], containerStatuses: [{ name: "agent", ready: false, restartCount: state.restarts, state: { terminated } }] };
      });
      return;
    }
    state.restarts++;
    this.opts.api.update("pods", ns, name, (o) => {
      o.status = { ...(o.status as object), conditions: [{ type: "Ready", status: "False" }], containerStatuses: [{ name: "agent", ready: false, restartCount: state.restarts, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated } }] };
    });
    const current = this.opts.api.get("pods", ns, name);
    if (current && !current.metadata.deletionTimestamp) setTimeout(() => void this.run(ns, current), 200).unref();
  }

  private setStatus(ns: string, name: string, state: Running, cstate: object, ready: boolean, startTime: string): void {
    this.opts.api.update("pods", ns, name, (o) => {
      o.status = {
        phase: "Running",
        podIP: state.ip,
        podIPs: [{ ip: state.ip }],
        startTime,
        conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
        containerStatuses: [{ name: "agent", ready, restartCount: state.restarts, state: cstate }],
      };
    });
  }

  private waiting(ns: string, pod: KubeObject, reason: string): void {
    this.opts.api.update("pods", ns, pod.metadata.name, (o) => {
      o.status = { phase: "Pending", containerStatuses: [{ name: "agent", ready: false, restartCount: 0, state: { waiting: { reason } } }] };
    });
  }

  private terminate(ns: string, name: string, graceSeconds: number): void {
    const state = this.pods.get(this.key(ns, name));
    if (!state || state.deleting) return;
    state.deleting = true;
    const child = state.child;
    if (!child) return this.opts.api.remove("pods", ns, name);
    child.kill(graceSeconds === 0 ? "SIGKILL" : "SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), graceSeconds * 1000).unref();
  }

  /** Kills a pod's agent as an OOM or a crash would (the kubelet then restarts it). */
  crash(namespace: string, name: string): void {
    this.pods.get(this.key(namespace, name))?.child?.kill("SIGKILL");
  }

  private logs(ns: string, name: string, tail?: number): string {
    try {
      const lines = readFileSync(path.join(this.root, "logs", ns, `${name}.log`), "utf8").split("\n");
      return (tail ? lines.slice(-tail - 1) : lines).join("\n");
    } catch {
      return "";
    }
  }

  /** Kills every agent it started (tests' finally). */
  async stop(): Promise<void> {
    this.opts.api.off("event", this.onEvent);
    const exits: Promise<unknown>[] = [];
    for (const s of this.pods.values()) {
      if (!s.child) continue;
      exits.push(new Promise((r) => s.child!.once("exit", r)));
      s.child.kill("SIGKILL");
    }
    await Promise.all(exits);
    this.pods.clear();
    // A root it made itself (its pods' volumes, the cluster's kubeconfig) goes with it.
    if (!this.opts.root) rmSync(this.root, { recursive: true, force: true });
  }
}

interface Container {
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: { tcpSocket?: { port: number | string } };
}
interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: object;
}

function tcpOk(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    s.setTimeout(500, () => done(false));
  });
}
