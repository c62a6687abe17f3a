import type { CoreV1Api, KubeConfig, NetworkingV1Api, V1Pod, V1Secret } from "@kubernetes/client-node" with { "resolution-mode": "import" };
import { AGENT_PORT } from "@concierge/protocol";
import type { Logger } from "../logger";
import { loadKubeClient } from "./kube-client";
import {
  AGENT_CONTAINER,
  buildClaim,
  buildNetworkPolicy,
  buildPod,
  buildSecret,
  claimName,
  K8S_ANNOTATION,
  K8S_LABEL,
  podName,
  policyName,
  secretName,
  SECRET_KEY,
  selectorOf,
  type ClusterSettings,
  toClientNetworkPolicy,
  type StoredSpec,
} from "./kubernetes-manifests";
import { RuntimeError, type InstanceStatus, type OpOptions, type RuntimeInstance, type SandboxRuntime, type SandboxSpec } from "./runtime";

export interface KubernetesRuntimeOptions {
  kubeConfig: KubeConfig;
  cluster: Omit<ClusterSettings, "extraLabels">;
  /** The LLM gateway's URL as the pods see it (the gateway Service): SANDBOX_GATEWAY_URL. */
  gatewayUrl: string;
  logger: Logger;
  /** Labels what it creates, lists only those (ControlPlaneCredentials.instanceId). */
  instanceId?: string;
  testRunId?: string;
  /** How long start() waits for the pod to be Ready (image pull, scheduling). */
  readyTimeoutMs?: number;
  /** Poll interval while waiting on the API server (pod ready, pod gone). */
  pollMs?: number;
}

const code = (err: unknown): number | undefined => (err as { code?: number })?.code;

/**
 * Sandboxes as Kubernetes objects, one set per user under deterministic names in one namespace:
 * Secret + PVC + NetworkPolicy from create(), the Pod from start(). Stop deletes the pod and keeps
 * the rest, so wake is one pod create; the Secret holds the spec the pod is rebuilt from. The API
 * server's unique names are the last line against duplicates across replicas (409 = adopt).
 */
export class KubernetesRuntime implements SandboxRuntime {
  readonly kind = "kubernetes" as const;
  private readonly log: Logger;
  private readonly settings: ClusterSettings;
  private readonly ns: string;
  private apis: Promise<{ core: CoreV1Api; net: NetworkingV1Api }> | null = null;

  constructor(private readonly opts: KubernetesRuntimeOptions) {
    this.log = opts.logger.child({ component: "kubernetes-runtime" });
    this.settings = { ...opts.cluster, extraLabels: this.extraLabels };
    this.ns = opts.cluster.namespace;
  }

  private get extraLabels(): Record<string, string> {
    return {
      ...(this.opts.testRunId ? { [K8S_LABEL.testRun]: this.opts.testRunId } : {}),
      ...(this.opts.instanceId ? { [K8S_LABEL.instance]: this.opts.instanceId } : {}),
    };
  }

  private api(): Promise<{ core: CoreV1Api; net: NetworkingV1Api }> {
    this.apis ??= loadKubeClient().then((k8s) => ({
      core: this.opts.kubeConfig.makeApiClient(k8s.CoreV1Api),
      net: this.opts.kubeConfig.makeApiClient(k8s.NetworkingV1Api),
    }));
    return this.apis;
  }

  /** Runs a call; 409 (exists) and, when allowed, 404 (gone) count as success. */
  private async call<T>(what: string, fn: () => Promise<T>, ok: number[] = []): Promise<T | null> {
    try {
      return await fn();
    } catch (err) {
      if (ok.includes(code(err) ?? 0)) return null;
      throw new RuntimeError(`kubernetes: cannot ${what}: ${messageOf(err)}`, err);
    }
  }

  async create({ spec }: { spec: SandboxSpec; signal?: AbortSignal }): Promise<RuntimeInstance> {
    const { core, net } = await this.api();
    const namespace = this.ns;
    // 409 on each: another replica (or an earlier, interrupted attempt) made it; adopt it.
    await this.call(`create claim ${claimName(spec.userId)}`, () => core.createNamespacedPersistentVolumeClaim({ namespace, body: buildClaim(this.settings, spec.userId) }), [409]);
    await this.call(`create secret ${secretName(spec.userId)}`, () => core.createNamespacedSecret({ namespace, body: buildSecret(this.settings, spec) }), [409]);
    await this.call(`create network policy ${policyName(spec.userId)}`, () => net.createNamespacedNetworkPolicy({ namespace, body: toClientNetworkPolicy(buildNetworkPolicy(this.settings, spec)) }), [409]);
    this.log.info({ userId: spec.userId, sandboxId: spec.sandboxId, name: podName(spec.userId) }, "created sandbox objects");
    const found = await this.inspect({ userId: spec.userId });
    if (!found) throw new RuntimeError(`secret ${secretName(spec.userId)} vanished right after create`);
    return found;
  }

  async start({ userId }: OpOptions): Promise<RuntimeInstance> {
    const { core } = await this.api();
    const stored = await this.storedSpec(userId);
    if (!stored) throw new RuntimeError(`no sandbox for ${userId} (its secret is missing)`);
    // A pod still terminating from a stop would make this create fail: wait it out first. One that
    // ended (crashed: restartPolicy Never) is replaced: this is the reconciler's restart.
    // A live pod (another replica's start in flight, or already running) is adopted as it is.
    const existing = await this.readPod(userId);
    const ended = !!existing && !existing.metadata?.deletionTimestamp && this.toInstance(stored, existing).status === "exited";
    if (ended) await this.call(`delete pod ${podName(userId)}`, () => core.deleteNamespacedPod({ name: podName(userId), namespace: this.ns, gracePeriodSeconds: 0 }), [404]);
    if (ended || existing?.metadata?.deletionTimestamp) await this.waitGone(userId, 60_000);
    await this.call(`create pod ${podName(userId)}`, () => core.createNamespacedPod({ namespace: this.ns, body: buildPod(this.settings, stored) }), [409]);
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 120_000);
    for (;;) {
      const pod = await this.readPod(userId);
      if (!pod) throw new RuntimeError(`pod ${podName(userId)} is gone right after create`);
      const inst = this.toInstance(stored, pod);
      if (inst.running) return inst;
      if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") {
        throw new RuntimeError(`pod ${podName(userId)} ended: ${inst.error ?? pod.status.phase}`);
      }
      if (Date.now() > deadline) throw new RuntimeError(`pod ${podName(userId)} not ready in time: ${inst.error ?? pod.status?.phase ?? "pending"}`);
      await sleep(this.opts.pollMs ?? 200);
    }
  }

  async stop({ userId, timeoutSeconds = 10 }: OpOptions & { timeoutSeconds?: number }): Promise<void> {
    const { core } = await this.api();
    await this.call(`delete pod ${podName(userId)}`, () => core.deleteNamespacedPod({ name: podName(userId), namespace: this.ns, gracePeriodSeconds: timeoutSeconds }), [404]);
    await this.waitGone(userId, (timeoutSeconds + 30) * 1000);
  }

  async remove({ userId, removeData = false }: OpOptions & { removeData?: boolean }): Promise<void> {
    const { core, net } = await this.api();
    const namespace = this.ns;
    await this.stop({ userId, timeoutSeconds: 2 });
    await this.call(`delete network policy ${policyName(userId)}`, () => net.deleteNamespacedNetworkPolicy({ name: policyName(userId), namespace }), [404]);
    await this.call(`delete secret ${secretName(userId)}`, () => core.deleteNamespacedSecret({ name: secretName(userId), namespace }), [404]);
    if (removeData) await this.call(`delete claim ${claimName(userId)}`, () => core.deleteNamespacedPersistentVolumeClaim({ name: claimName(userId), namespace }), [404]);
  }

  private async waitGone(userId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (await this.readPod(userId)) {
      if (Date.now() > deadline) throw new RuntimeError(`pod ${podName(userId)} still terminating`);
      await sleep(this.opts.pollMs ?? 200);
    }
  }

  private async readPod(userId: string): Promise<V1Pod | null> {
    const { core } = await this.api();
    return this.call(`read pod ${podName(userId)}`, () => core.readNamespacedPod({ name: podName(userId), namespace: this.ns }), [404]);
  }

  private async storedSpec(userId: string): Promise<StoredSpec | null> {
    const { core } = await this.api();
    const secret = await this.call(`read secret ${secretName(userId)}`, () => core.readNamespacedSecret({ name: secretName(userId), namespace: this.ns }), [404]);
    return secret ? specOf(secret) : null;
  }

  async inspect({ userId }: OpOptions): Promise<RuntimeInstance | null> {
    const stored = await this.storedSpec(userId);
    if (!stored) return null;
    return this.toInstance(stored, await this.readPod(userId));
  }

  private toInstance(stored: StoredSpec, pod: V1Pod | null): RuntimeInstance {
    const base = { name: podName(stored.userId), userId: stored.userId, sandboxId: stored.sandboxId, configHash: stored.configHash, image: stored.image };
    // No pod: stopped (or deleted behind our back, which the reconciler treats as a crash).
    if (!pod) return { ...base, id: `pod:${this.ns}/${base.name}`, status: "exited", running: false, exitCode: null, endpoint: null, startedAt: null };
    const cs = pod.status?.containerStatuses?.find((c) => c.name === AGENT_CONTAINER);
    const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase ?? "Pending";
    const running = phase === "Running" && ready && !!ip && !pod.metadata?.deletionTimestamp;
    const terminated = cs?.state?.terminated ?? cs?.lastState?.terminated;
    const waiting = cs?.state?.waiting;
    const status: InstanceStatus = pod.metadata?.deletionTimestamp
      ? "removing"
      : running
        ? "running"
        : phase === "Failed" || phase === "Succeeded"
          ? "exited"
          : "restarting"; // Pending, or Running but not (yet, again) ready: the kubelet is at work
    const error = terminated?.reason === "OOMKilled" ? "out of memory (OOMKilled)" : (waiting?.reason ?? terminated?.reason ?? undefined);
    return {
      ...base,
      id: pod.metadata?.uid ?? `pod:${this.ns}/${base.name}`,
      status,
      running,
      exitCode: running ? null : (terminated?.exitCode ?? null),
      endpoint: running ? `ws://${ip}:${AGENT_PORT}` : null,
      startedAt: pod.status?.startTime ? new Date(pod.status.startTime) : null,
      ...(error ? { error } : {}),
    };
  }

  async list(): Promise<RuntimeInstance[]> {
    const { core } = await this.api();
    // Two calls per pass however many sandboxes: the Secrets say which exist, the Pods which run.
    const labelSelector = selectorOf({ [K8S_LABEL.managed]: "true", ...this.extraLabels });
    const secrets = await this.call("list secrets", () => core.listNamespacedSecret({ namespace: this.ns, labelSelector }));
    const pods = await this.call("list pods", () => core.listNamespacedPod({ namespace: this.ns, labelSelector }));
    // A production control plane never touches what a test run made in the same namespace.
    const mine = (o: { metadata?: { labels?: Record<string, string> } }) => (this.opts.testRunId ? true : !(K8S_LABEL.testRun in (o.metadata?.labels ?? {})));
    const podByOwner = new Map((pods?.items ?? []).filter(mine).map((p) => [p.metadata?.annotations?.[K8S_ANNOTATION.owner] ?? "", p]));
    const out: RuntimeInstance[] = [];
    for (const secret of (secrets?.items ?? []).filter(mine)) {
      const stored = specOf(secret);
      if (stored) out.push(this.toInstance(stored, podByOwner.get(stored.userId) ?? null));
    }
    return out;
  }

  async logs({ userId, tail = 200 }: OpOptions & { tail?: number }): Promise<string> {
    const { core } = await this.api();
    const text = await this.call(`read logs of ${podName(userId)}`, () => core.readNamespacedPodLog({ name: podName(userId), namespace: this.ns, container: AGENT_CONTAINER, tailLines: tail }), [404, 400]);
    return text ?? "";
  }

  /** Would need the metrics API (metrics-server); not asked for, so unknown. */
  async memoryUsage(): Promise<number | null> {
    return null;
  }

  /**
   * The control plane cannot see the cluster's image store: the reference itself is the identity.
   * Pin images by digest (image@sha256:...) so that a new build changes the config hash.
   */
  async resolveImage({ image }: { image: string }): Promise<string> {
    return image;
  }

  async gatewayUrl(): Promise<string> {
    return this.opts.gatewayUrl;
  }
}

function specOf(secret: V1Secret): StoredSpec | null {
  const raw = secret.data?.[SECRET_KEY.spec];
  if (!raw) return null;
  try {
    return JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as StoredSpec;
  } catch {
    return null;
  }
}

function messageOf(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === "string") {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 300);
    } catch {
      return body.slice(0, 300);
    }
  }
  if (body && typeof body === "object" && "message" in body) return String((body as { message: unknown }).message);
  return (err as Error)?.message ?? String(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
