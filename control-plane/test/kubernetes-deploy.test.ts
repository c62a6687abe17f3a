import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { ENV } from "../src/config";
import { DEPLOY_DIR, deployManifests, validateManifest, type Manifest } from "../../test-support/kube-schema";

/**
 * deploy/kubernetes/ as an operator applies it: every document valid against the Kubernetes
 * OpenAPI schemas, the kustomization listing every file, and the properties the design promises
 * (replicas, probes, PDB, RBAC scope, secrets by reference). It does not prove the cluster runs it.
 */
describe("deploy/kubernetes manifests", () => {
  const docs = deployManifests();
  const find = (kind: string, name: string) => docs.find((d) => d.doc.kind === kind && d.doc.metadata.name === name)?.doc as any;

  it("every document is valid against the Kubernetes OpenAPI schemas", () => {
    expect(docs.length).toBeGreaterThanOrEqual(12);
    for (const { file, doc } of docs) {
      if (doc.kind === "Kustomization") continue;
      expect(() => validateManifest(doc)).not.toThrow();
      expect({ file, name: doc.metadata?.name }).toEqual({ file, name: expect.stringMatching(/^[a-z0-9][-a-z0-9.]*$/) });
    }
  });

  it("the kustomization lists every manifest file, and only existing ones", () => {
    const k = parse(readFileSync(path.join(DEPLOY_DIR, "kustomization.yaml"), "utf8")) as { resources: string[] };
    const files = [...new Set(docs.map((d) => d.file))].filter((f) => f !== "kustomization.yaml").sort();
    expect([...k.resources].sort()).toEqual(files);
  });

  it("the control plane: ≥ 2 replicas, /readyz and /healthz probes, limits, hardened, secrets only by reference", () => {
    const d = find("Deployment", "concierge-control-plane");
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
    expect(pod.serviceAccountName).toBe("concierge-control-plane");
    expect(c.envFrom).toContainEqual({ secretRef: { name: "concierge-control-plane-env" } });
    // The signing key and token secret: one Secret, mounted read-only into every replica.
    expect(pod.volumes).toContainEqual(expect.objectContaining({ name: "keys", secret: expect.objectContaining({ secretName: "concierge-control-plane-keys" }) }));
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: "keys", readOnly: true }));
    // No secret value is written into any manifest: no Secret objects, no secret variable as a literal.
    expect(docs.filter((x) => x.doc.kind === "Secret")).toHaveLength(0);
    const secretVars = Object.entries(ENV).filter(([, v]) => v.secret).map(([k]) => k);
    const cm = find("ConfigMap", "concierge-control-plane");
    for (const v of secretVars) expect(Object.keys(cm.data)).not.toContain(v);
    for (const e of c.env ?? []) expect(secretVars).not.toContain(e.name);
    // Every ConfigMap key is a variable the control plane reads.
    for (const key of Object.keys(cm.data)) expect(Object.keys(ENV)).toContain(key);
    expect(cm.data.SANDBOX_RUNTIME).toBe("kubernetes");
  });

  it("the ConfigMap's cluster settings agree with the objects: policy peers, sandbox namespace, gateway port", () => {
    const cm = find("ConfigMap", "concierge-control-plane").data;
    const d = find("Deployment", "concierge-control-plane");
    const labels = Object.fromEntries(String(cm.KUBE_CONTROL_PLANE_LABELS).split(",").map((kv: string) => kv.split("=")));
    for (const [k, v] of Object.entries(labels)) expect(d.spec.template.metadata.labels[k]).toBe(v);
    expect(cm.KUBE_CONTROL_PLANE_NAMESPACE).toBe(d.metadata.namespace);
    expect(cm.KUBE_NAMESPACE).toBe(find("Role", "concierge-sandbox-manager").metadata.namespace);
    expect(Number(cm.PORT)).toBe(d.spec.template.spec.containers[0].ports[0].containerPort);
  });

  it("a PodDisruptionBudget keeps one replica up, selecting the Deployment's pods", () => {
    const pdb = find("PodDisruptionBudget", "concierge-control-plane");
    const d = find("Deployment", "concierge-control-plane");
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
  });

  it("Services: public HTTP and the LLM gateway that SANDBOX_GATEWAY_URL names, both selecting the control plane", () => {
    const d = find("Deployment", "concierge-control-plane");
    const gw = find("Service", "concierge-llm-gateway");
    const pub = find("Service", "concierge-control-plane");
    for (const s of [gw, pub]) expect(s.spec.selector).toEqual(d.spec.selector.matchLabels);
    const url = new URL(find("ConfigMap", "concierge-control-plane").data.SANDBOX_GATEWAY_URL);
    expect(url.hostname).toBe(`${gw.metadata.name}.${gw.metadata.namespace}.svc.cluster.local`);
    expect(Number(url.port)).toBe(gw.spec.ports[0].port);
  });

  it("RBAC: a Role (not a ClusterRole) in the sandbox namespace only, bound to the control plane's account", () => {
    expect(docs.some((x) => x.doc.kind.startsWith("Cluster"))).toBe(false);
    const role = find("Role", "concierge-sandbox-manager");
    expect(role.metadata.namespace).toBe("concierge-sandboxes");
    const resources = role.rules.flatMap((r: { resources: string[] }) => r.resources).sort();
    expect(resources).toEqual(["networkpolicies", "persistentvolumeclaims", "pods", "pods/log", "secrets"]);
    for (const r of role.rules) expect(r.verbs).not.toContain("*");
    const binding = find("RoleBinding", "concierge-sandbox-manager");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "concierge-control-plane", namespace: "concierge" }]);
  });

  it("the sandbox namespace denies all traffic unless a per-sandbox policy allows it, and enforces the restricted pod standard", () => {
    const deny = find("NetworkPolicy", "default-deny") as Manifest & { spec: { podSelector: object; policyTypes: string[] } };
    expect(deny.metadata.namespace).toBe("concierge-sandboxes");
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(find("Namespace", "concierge-sandboxes").metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });
});
