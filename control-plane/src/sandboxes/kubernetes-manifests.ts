import { createHash } from "node:crypto";
import type { V1NetworkPolicy, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer, V1PersistentVolumeClaim, V1Pod, V1Secret } from "@kubernetes/client-node" with { "resolution-mode": "import" };
import { AGENT_PORT, AgentEnv } from "@concierge/protocol";
import { DATA_MOUNT } from "./container-spec";
import type { SandboxLimits, SandboxSpec } from "./runtime";

/**
 * Pure functions from a SandboxSpec to the Kubernetes objects one user's sandbox is made of: a
 * Secret (the token, and the spec a woken pod is rebuilt from), a PersistentVolumeClaim for /data
 * (it outlives the pod: stop deletes the pod only), a NetworkPolicy and the Pod. Free of I/O, so the
 * hardening is unit-tested and schema-validated without a cluster.
 */

export const K8S_LABEL = {
  managed: "concierge.dev/managed",
  owner: "concierge.dev/owner",
  sandbox: "concierge.dev/sandbox",
  configHash: "concierge.dev/config-hash",
  instance: "concierge.dev/instance",
  testRun: "concierge.dev/test-run",
  component: "app.kubernetes.io/component",
} as const;
/** Label values are limited to 63 characters of [A-Za-z0-9_.-]: the full user id is an annotation. */
export const K8S_ANNOTATION = { owner: "concierge.dev/owner-id" } as const;

/** The agent's numeric uid/gid, as in the image (container-spec SANDBOX_USER). */
export const SANDBOX_UID = 10001;
export const AGENT_CONTAINER = "agent";
/** Secret keys: the bearer token (referenced by the pod), and the spec to rebuild the pod from. */
export const SECRET_KEY = { token: "token", spec: "spec.json" } as const;

/**
 * A DNS-1123 label from a user id: lowercase [a-z0-9-]; anything folded or cut gets a short hash of
 * the original, so two user ids never share a name.
 */
export function k8sSlug(userId: string, max = 40): string {
  const folded = userId.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "");
  if (folded === userId && folded.length > 0 && folded.length <= max) return folded;
  const hash = createHash("sha256").update(userId).digest("hex").slice(0, 10);
  return `${folded.slice(0, max - 11).replace(/-+$/, "")}-${hash}`.replace(/^-/, "");
}

export const podName = (userId: string) => `concierge-sbx-${k8sSlug(userId)}`;
export const secretName = (userId: string) => `concierge-sbx-${k8sSlug(userId)}`;
export const policyName = (userId: string) => `concierge-sbx-${k8sSlug(userId)}`;
export const claimName = (userId: string) => `concierge-data-${k8sSlug(userId)}`;

export interface ClusterSettings {
  namespace: string;
  /** Where the control-plane pods run, and the labels that select them (NetworkPolicy peers). */
  controlPlane: { namespace: string; podLabels: Record<string, string>; gatewayPort: number };
  /** PVC size and class (the cluster's default class when unset). */
  storage: { size: string; className?: string };
  /** Labels on everything created (the instance, a test run's id). */
  extraLabels?: Record<string, string>;
}

/** What the Secret keeps besides the token: enough to rebuild the pod on wake without the database. */
export interface StoredSpec {
  userId: string;
  sandboxId: string;
  image: string;
  limits: SandboxLimits;
  configHash: string;
  /** The agent env without the token (that is the Secret's other key). */
  env: Record<string, string>;
}

function baseLabels(s: ClusterSettings, userId: string): Record<string, string> {
  return { ...(s.extraLabels ?? {}), [K8S_LABEL.managed]: "true", [K8S_LABEL.owner]: k8sSlug(userId, 63) };
}

function sandboxLabels(s: ClusterSettings, spec: { userId: string; sandboxId: string; configHash: string }): Record<string, string> {
  return { ...baseLabels(s, spec.userId), [K8S_LABEL.sandbox]: spec.sandboxId, [K8S_LABEL.configHash]: spec.configHash, [K8S_LABEL.component]: "sandbox" };
}

export function toStoredSpec(spec: SandboxSpec): StoredSpec {
  const env = { ...spec.env };
  delete env[AgentEnv.token];
  return { userId: spec.userId, sandboxId: spec.sandboxId, image: spec.image, limits: spec.limits, configHash: spec.configHash, env };
}

export function buildSecret(s: ClusterSettings, spec: SandboxSpec): V1Secret {
  const token = spec.env[AgentEnv.token];
  if (!token) throw new Error("the sandbox spec has no token");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secretName(spec.userId), namespace: s.namespace, labels: sandboxLabels(s, spec), annotations: { [K8S_ANNOTATION.owner]: spec.userId } },
    type: "Opaque",
    immutable: true,
    stringData: { [SECRET_KEY.token]: token, [SECRET_KEY.spec]: JSON.stringify(toStoredSpec(spec)) },
  };
}

export function buildClaim(s: ClusterSettings, userId: string): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: claimName(userId), namespace: s.namespace, labels: baseLabels(s, userId), annotations: { [K8S_ANNOTATION.owner]: userId } },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: s.storage.size } },
      ...(s.storage.className ? { storageClassName: s.storage.className } : {}),
    },
  };
}

/**
 * Ingress only from the control-plane pods on the agent port; egress only to the control-plane pods
 * on the gateway port (the LLM gateway Service selects them: policies match pods, not Services) and
 * to the cluster DNS, which the gateway's Service name needs.
 */
export function buildNetworkPolicy(s: ClusterSettings, spec: { userId: string; sandboxId: string; configHash: string }): WireNetworkPolicy {
  const controlPlane = {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": s.controlPlane.namespace } },
    podSelector: { matchLabels: s.controlPlane.podLabels },
  };
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: policyName(spec.userId), namespace: s.namespace, labels: sandboxLabels(s, spec) },
    spec: {
      podSelector: { matchLabels: { [K8S_LABEL.owner]: k8sSlug(spec.userId, 63), [K8S_LABEL.component]: "sandbox" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [controlPlane], ports: [{ protocol: "TCP", port: AGENT_PORT }] }],
      egress: [
        { to: [controlPlane], ports: [{ protocol: "TCP", port: s.controlPlane.gatewayPort }] },
        {
          to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
      ],
    },
  };
}

/**
 * A NetworkPolicy as the API server reads it. (The client's model calls an ingress rule's `from`
 * `_from`; toClientNetworkPolicy renames it just before the call.)
 */
export type WireNetworkPolicy = Omit<V1NetworkPolicy, "spec"> & {
  spec: Omit<NonNullable<V1NetworkPolicy["spec"]>, "ingress"> & { ingress: (Omit<V1NetworkPolicyIngressRule, "_from"> & { from: V1NetworkPolicyPeer[] })[] };
};

export function toClientNetworkPolicy(p: WireNetworkPolicy): V1NetworkPolicy {
  return { ...p, spec: { ...p.spec, ingress: p.spec.ingress.map(({ from, ...rule }) => ({ ...rule, _from: from })) } };
}

/** The pod: the agent with the Docker runtime's hardening, its token read from the Secret. */
export function buildPod(s: ClusterSettings, stored: StoredSpec): V1Pod {
  const env = { ...stored.env, [AgentEnv.port]: String(AGENT_PORT), [AgentEnv.host]: "0.0.0.0", [AgentEnv.dataDir]: DATA_MOUNT };
  const memory = `${stored.limits.memoryMb}Mi`;
  const cpu = `${Math.max(1, Math.round(stored.limits.cpus * 1000))}m`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName(stored.userId),
      namespace: s.namespace,
      labels: sandboxLabels(s, stored),
      annotations: { [K8S_ANNOTATION.owner]: stored.userId },
    },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // A crash ends the pod and the reconciler restarts it (a new pod, with its backoff, counting
      // toward giving up): one crash policy on every runtime, none hidden in a CrashLoopBackOff.
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 10,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: SANDBOX_UID,
        runAsGroup: SANDBOX_UID,
        fsGroup: SANDBOX_UID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: AGENT_CONTAINER,
          image: stored.image,
          imagePullPolicy: "IfNotPresent",
          env: [
            ...Object.entries(env)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([name, value]) => ({ name, value })),
            { name: AgentEnv.token, valueFrom: { secretKeyRef: { name: secretName(stored.userId), key: SECRET_KEY.token } } },
          ],
          ports: [{ name: "agent", containerPort: AGENT_PORT, protocol: "TCP" }],
          readinessProbe: { tcpSocket: { port: AGENT_PORT }, periodSeconds: 2, failureThreshold: 3 },
          resources: { requests: { memory, cpu }, limits: { memory, cpu } },
          securityContext: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
          },
          volumeMounts: [
            { name: "data", mountPath: DATA_MOUNT },
            { name: "tmp", mountPath: "/tmp" },
          ],
        },
      ],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: claimName(stored.userId) } },
        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
      ],
    },
  };
}

/** A label selector string from exact-match labels. */
export function selectorOf(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}
