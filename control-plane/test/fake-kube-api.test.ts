import { FakeKubeApi } from "../../test-support/fake-kube-api";
import { loadKubeClient, type KubeClient } from "../src/sandboxes/kube-client";

/**
 * The fake API server speaks what the real client expects: the real @kubernetes/client-node against
 * it, for the semantics KubernetesRuntime and its tests lean on. (It is a fake: admission, RBAC,
 * schema validation and scheduling are not modelled; see docs/kubernetes.md.)
 */
describe("FakeKubeApi through the real @kubernetes/client-node", () => {
  let api: FakeKubeApi;
  let k8s: KubeClient;
  let core: InstanceType<KubeClient["CoreV1Api"]>;
  let kc: InstanceType<KubeClient["KubeConfig"]>;
  const namespace = "ns1";
  beforeAll(async () => {
    api = new FakeKubeApi();
    const url = await api.listen();
    k8s = await loadKubeClient();
    kc = new k8s.KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: "f", server: url, skipTLSVerify: true }], users: [{ name: "u", token: "t" }], contexts: [{ name: "c", cluster: "f", user: "u" }], currentContext: "c" });
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  afterAll(() => api.close());

  const secret = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels }, stringData: { k: "v" }, immutable: true });

  it("404 and 409 come back as Status objects the client turns into ApiExceptions with the code", async () => {
    const missing = await core.readNamespacedSecret({ name: "nope", namespace }).catch((e) => e);
    expect(missing).toBeInstanceOf(k8s.ApiException);
    expect(missing.code).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ kind: "Status", status: "Failure", reason: "NotFound", code: 404, message: 'secrets "nope" not found' });
    await core.createNamespacedSecret({ namespace, body: secret("s1", { app: "a" }) });
    const dup = await core.createNamespacedSecret({ namespace, body: secret("s1", { app: "a" }) }).catch((e) => e);
    expect(dup.code).toBe(409);
    expect(JSON.parse(dup.body)).toMatchObject({ reason: "AlreadyExists", code: 409 });
    const gone = await core.deleteNamespacedSecret({ name: "nope", namespace }).catch((e) => e);
    expect(gone.code).toBe(404);
  });

  it("stringData becomes base64 data; immutable secrets refuse new data (422); replace and patch keep the uid", async () => {
    const read = await core.readNamespacedSecret({ name: "s1", namespace });
    expect(read.data).toEqual({ k: Buffer.from("v").toString("base64") });
    expect(read.stringData).toBeUndefined();
    const refused = await core.replaceNamespacedSecret({ name: "s1", namespace, body: { ...read, data: { k: "eA==" } } }).catch((e) => e);
    expect(refused.code).toBe(422);
    const cm = await core.createNamespacedPersistentVolumeClaim({ namespace, body: { metadata: { name: "c1", labels: { a: "1" } }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } } });
    const patched = await core.patchNamespacedPersistentVolumeClaim({ name: "c1", namespace, body: { metadata: { labels: { b: "2" } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    expect(patched.metadata!.uid).toBe(cm.metadata!.uid);
    expect(patched.metadata!.labels).toEqual({ a: "1", b: "2" });
    expect(Number(patched.metadata!.resourceVersion)).toBeGreaterThan(Number(cm.metadata!.resourceVersion));
  });

  it("lists by label selector (=, !=, exists, !exists)", async () => {
    await core.createNamespacedSecret({ namespace, body: secret("s2", { app: "a", tier: "x" }) });
    await core.createNamespacedSecret({ namespace, body: secret("s3", { app: "b" }) });
    const names = async (labelSelector: string) => (await core.listNamespacedSecret({ namespace, labelSelector })).items.map((s) => s.metadata!.name).sort();
    expect(await names("app=a")).toEqual(["s1", "s2"]);
    expect(await names("app=a,tier=x")).toEqual(["s2"]);
    expect(await names("app!=a")).toEqual(["s3"]);
    expect(await names("tier")).toEqual(["s2"]);
    expect(await names("!tier")).toEqual(["s1", "s3"]);
    expect((await core.listNamespacedSecret({ namespace: "other" })).items).toEqual([]);
  });

  it("watch from a list's resourceVersion sees later changes only, filtered by label; a too old version is 410 Expired", async () => {
    const list = await core.listNamespacedSecret({ namespace, labelSelector: "app=w" });
    const events: string[] = [];
    const watch = new k8s.Watch(kc);
    const ctl = await watch.watch(`/api/v1/namespaces/${namespace}/secrets`, { labelSelector: "app=w", resourceVersion: list.metadata!.resourceVersion }, (type, obj) => events.push(`${type} ${obj.metadata.name}`), () => undefined);
    await core.createNamespacedSecret({ namespace, body: secret("w1", { app: "w" }) });
    await core.createNamespacedSecret({ namespace, body: secret("not-watched", { app: "other" }) });
    await core.deleteNamespacedSecret({ name: "w1", namespace });
    for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    ctl.abort();
    expect(events).toEqual(["ADDED w1", "DELETED w1"]);

    // Replaying from an older version delivers what happened since, in order.
    const replay: string[] = [];
    const ctl2 = await watch.watch(`/api/v1/namespaces/${namespace}/secrets`, { labelSelector: "app=w", resourceVersion: list.metadata!.resourceVersion }, (type, obj) => replay.push(`${type} ${obj.metadata.name}`), () => undefined);
    for (let i = 0; i < 100 && replay.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    ctl2.abort();
    expect(replay).toEqual(["ADDED w1", "DELETED w1"]);

    // Past the fake's event history (1000): the list's version is too old to watch from.
    await core.createNamespacedSecret({ namespace, body: secret("churn", { app: "churn" }) });
    for (let i = 0; i < 1100; i++) api.update("secrets", namespace, "churn", () => undefined);
    const expired: { type: string; code?: number }[] = [];
    await new Promise<void>((resolve) => {
      void watch.watch(`/api/v1/namespaces/${namespace}/secrets`, { resourceVersion: list.metadata!.resourceVersion }, (type, obj) => expired.push({ type, code: obj.code }), () => resolve()).catch(() => resolve());
    });
    expect(expired).toEqual([{ type: "ERROR", code: 410 }]);
  });
});
