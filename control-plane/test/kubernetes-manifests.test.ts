import { AGENT_PORT, AgentEnv } from "@concierge/protocol";
import {
  buildClaim,
  buildNetworkPolicy,
  buildPod,
  buildSecret,
  claimName,
  k8sSlug,
  K8S_ANNOTATION,
  K8S_LABEL,
  podName,
  secretName,
  selectorOf,
  toClientNetworkPolicy,
  toStoredSpec,
  type ClusterSettings,
} from "../src/sandboxes/kubernetes-manifests";
import type { SandboxSpec } from "../src/sandboxes/runtime";
import { validateManifest } from "../../test-support/kube-schema";

const settings: ClusterSettings = {
  namespace: "concierge-sandboxes",
  controlPlane: { namespace: "concierge", podLabels: { "app.kubernetes.io/name": "concierge-control-plane" }, gatewayPort: 3001 },
  storage: { size: "2Gi", className: "fast" },
  extraLabels: { [K8S_LABEL.instance]: "inst1" },
};
const token = "sbx_token_value_1234567890abcdef";
const spec: SandboxSpec = {
  userId: "0b6f3c5e-1111-4222-8333-944455556666",
  sandboxId: "sbx-1",
  image: "registry.example/concierge-agent@sha256:abc",
  env: { [AgentEnv.sandboxId]: "sbx-1", [AgentEnv.token]: token, [AgentEnv.timezone]: "Europe/Berlin", [AgentEnv.llmBaseUrl]: "http://gw.concierge.svc:3001/llm/v1" },
  limits: { memoryMb: 256, cpus: 0.5, pids: 128 },
  configHash: "abc123",
};

describe("Kubernetes manifest builders (pure, schema-validated)", () => {
  it("names everything deterministically per user, as DNS-1123 labels; odd ids get a hash, never a collision", () => {
    expect(podName(spec.userId)).toBe(`concierge-sbx-${spec.userId}`);
    expect(secretName(spec.userId)).toBe(podName(spec.userId));
    expect(claimName(spec.userId)).toBe(`concierge-data-${spec.userId}`);
    for (const odd of ["Weird/User Id", "UPPER", "-x-", "a".repeat(200), ""]) {
      expect(podName(odd)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(podName(odd).length).toBeLessThanOrEqual(63);
    }
    expect(k8sSlug("User")).not.toBe(k8sSlug("user"));
    expect(k8sSlug("a/b")).not.toBe(k8sSlug("a-b"));
  });

  it("the pod: hardened like the Docker container, limits set, token only by reference, /data on the claim, /tmp an emptyDir", () => {
    const pod = buildPod(settings, toStoredSpec(spec));
    validateManifest(pod);
    const ps = pod.spec!;
    const c = ps.containers[0]!;
    expect(ps.automountServiceAccountToken).toBe(false);
    expect(ps.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.resources).toEqual({ requests: { memory: "256Mi", cpu: "500m" }, limits: { memory: "256Mi", cpu: "500m" } });
    expect(c.image).toBe(spec.image);
    expect(JSON.stringify(pod)).not.toContain(token);
    expect(c.env).toContainEqual({ name: AgentEnv.token, valueFrom: { secretKeyRef: { name: secretName(spec.userId), key: "token" } } });
    expect(c.env).toContainEqual({ name: AgentEnv.host, value: "0.0.0.0" });
    expect(c.env).toContainEqual({ name: AgentEnv.dataDir, value: "/data" });
    expect(c.env).toContainEqual({ name: AgentEnv.timezone, value: "Europe/Berlin" });
    expect(c.ports).toEqual([{ name: "agent", containerPort: AGENT_PORT, protocol: "TCP" }]);
    expect(c.readinessProbe?.tcpSocket?.port).toBe(AGENT_PORT);
    expect(c.volumeMounts).toEqual([
      { name: "data", mountPath: "/data" },
      { name: "tmp", mountPath: "/tmp" },
    ]);
    expect(ps.volumes).toEqual([
      { name: "data", persistentVolumeClaim: { claimName: claimName(spec.userId) } },
      { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
    ]);
    // The schema check bites: a wrong type or a missing required field is refused.
    const broken = structuredClone(pod) as any;
    broken.spec.containers[0].ports[0].containerPort = "agent";
    expect(() => validateManifest(broken)).toThrow(/containerPort must be integer/);
    delete broken.spec.containers[0].name;
    expect(() => validateManifest(broken)).toThrow(/required property/);
    // Crashes are the reconciler's (restart with backoff, give up after N), as on Docker.
    expect(ps.restartPolicy).toBe("Never");
  });

  it("labels: owner, sandbox id, config hash, instance; the full user id as an annotation", () => {
    const pod = buildPod(settings, toStoredSpec(spec));
    expect(pod.metadata!.labels).toEqual({
      [K8S_LABEL.managed]: "true",
      [K8S_LABEL.owner]: spec.userId,
      [K8S_LABEL.sandbox]: "sbx-1",
      [K8S_LABEL.configHash]: "abc123",
      [K8S_LABEL.instance]: "inst1",
      [K8S_LABEL.component]: "sandbox",
    });
    expect(pod.metadata!.annotations).toEqual({ [K8S_ANNOTATION.owner]: spec.userId });
    expect(selectorOf({ a: "1", "b.c/d": "x" })).toBe("a=1,b.c/d=x");
  });

  it("the secret: the token and the spec to rebuild the pod from (without the token), immutable", () => {
    const secret = buildSecret(settings, spec);
    validateManifest(secret);
    expect(secret.immutable).toBe(true);
    expect(secret.stringData!.token).toBe(token);
    const stored = JSON.parse(secret.stringData!["spec.json"]!);
    expect(stored).toEqual({ ...toStoredSpec(spec) });
    expect(stored.env[AgentEnv.token]).toBeUndefined();
    expect(secret.metadata!.labels![K8S_LABEL.configHash]).toBe("abc123");
    expect(() => buildSecret(settings, { ...spec, env: {} })).toThrow(/no token/);
  });

  it("the claim: ReadWriteOnce, the size and class asked for, labelled by owner (not by config hash: it outlives configs)", () => {
    const pvc = buildClaim(settings, spec.userId);
    validateManifest(pvc);
    expect(pvc.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } }, storageClassName: "fast" });
    expect(pvc.metadata!.labels![K8S_LABEL.configHash]).toBeUndefined();
    expect(buildClaim({ ...settings, storage: { size: "1Gi" } }, spec.userId).spec!.storageClassName).toBeUndefined();
  });

  it("the network policy: in only from control-plane pods on the agent port; out only to them on the gateway port, and DNS", () => {
    const np = buildNetworkPolicy(settings, spec);
    validateManifest(np);
    const cp = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "concierge" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "concierge-control-plane" } } };
    expect(np.spec.podSelector).toEqual({ matchLabels: { [K8S_LABEL.owner]: spec.userId, [K8S_LABEL.component]: "sandbox" } });
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(np.spec.ingress).toEqual([{ from: [cp], ports: [{ protocol: "TCP", port: AGENT_PORT }] }]);
    expect(np.spec.egress![0]).toEqual({ to: [cp], ports: [{ protocol: "TCP", port: 3001 }] });
    expect(np.spec.egress![1]!.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    expect(np.spec.egress).toHaveLength(2);
    // The pod it selects is this user's.
    const podLabels = buildPod(settings, toStoredSpec(spec)).metadata!.labels!;
    for (const [k, v] of Object.entries(np.spec.podSelector!.matchLabels!)) expect(podLabels[k]).toBe(v);
    // The client's model spells `from` as `_from`: the conversion keeps the peers.
    expect(toClientNetworkPolicy(np).spec!.ingress![0]!._from).toEqual([cp]);
  });
});
