import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";

/**
 * An in-process Kubernetes API server for the REST semantics KubernetesRuntime relies on, spoken
 * over real HTTP to the real @kubernetes/client-node: create/get/list/replace/patch/delete of pods,
 * secrets, persistentvolumeclaims and networkpolicies in namespaces; 404/409/422 as Status objects;
 * equality label selectors and metadata.name field selectors; a global resourceVersion and watch
 * from one (410 Expired when it is too old); stringData folded into data; immutable Secrets; pods
 * deleted gracefully (deletionTimestamp, removed when the kubelet says so). No admission, no
 * scheduling, no RBAC, no schema validation: manifests are validated against the OpenAPI schemas
 * in their own test.
 */

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; deletionTimestamp?: string; [k: string]: unknown };
  [k: string]: unknown;
};
export type WatchEvent = { type: "ADDED" | "MODIFIED" | "DELETED"; object: KubeObject; rv: number; resource: string; namespace: string };

const RESOURCES: Record<string, { kind: string; apiVersion: string }> = {
  pods: { kind: "Pod", apiVersion: "v1" },
  secrets: { kind: "Secret", apiVersion: "v1" },
  persistentvolumeclaims: { kind: "PersistentVolumeClaim", apiVersion: "v1" },
  networkpolicies: { kind: "NetworkPolicy", apiVersion: "networking.k8s.io/v1" },
};
const PATH = /^\/(?:api\/v1|apis\/networking\.k8s\.io\/v1)\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?(?:\/(log|status))?$/;
const HISTORY = 1000;

export class FakeKubeApi extends EventEmitter {
  private readonly objects = new Map<string, KubeObject>();
  private rv = 1;
  private readonly history: WatchEvent[] = [];
  private server: Server | null = null;
  /** Pod deletes wait for the kubelet to finish the pod (set by FakeKubelet). */
  gracefulPods = false;
  /** Every request, for tests asserting what the runtime asked for. */
  readonly requests: { method: string; path: string }[] = [];
  logsOf: (namespace: string, name: string, tail?: number) => string = () => "";

  private key(resource: string, namespace: string, name: string): string {
    return `${resource}/${namespace}/${name}`;
  }

  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    const o = this.objects.get(this.key(resource, namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  list(resource: string, namespace: string): KubeObject[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${resource}/${namespace}/`)).map(([, o]) => structuredClone(o));
  }

  private emitEvent(type: WatchEvent["type"], resource: string, namespace: string, object: KubeObject): void {
    const ev: WatchEvent = { type, resource, namespace, object: structuredClone(object), rv: Number(object.metadata.resourceVersion) };
    this.history.push(ev);
    if (this.history.length > HISTORY) this.history.shift();
    this.emit("event", ev);
  }

  /** Writes an object (creating or replacing), bumping its resourceVersion. */
  put(resource: string, namespace: string, obj: KubeObject, type: "ADDED" | "MODIFIED"): KubeObject {
    const stored = structuredClone(obj);
    stored.metadata.namespace = namespace;
    stored.metadata.resourceVersion = String(++this.rv);
    this.objects.set(this.key(resource, namespace, stored.metadata.name), stored);
    this.emitEvent(type, resource, namespace, stored);
    return structuredClone(stored);
  }

  /** Removes an object for good (the kubelet's last word on a deleted pod). */
  remove(resource: string, namespace: string, name: string): void {
    const o = this.objects.get(this.key(resource, namespace, name));
    if (!o) return;
    this.objects.delete(this.key(resource, namespace, name));
    o.metadata.resourceVersion = String(++this.rv);
    this.emitEvent("DELETED", resource, namespace, o);
  }

  /** Mutates an object in place as a controller would (the kubelet's status updates). */
  update(resource: string, namespace: string, name: string, fn: (o: KubeObject) => void): KubeObject | undefined {
    const o = this.get(resource, namespace, name);
    if (!o) return undefined;
    fn(o);
    return this.put(resource, namespace, o, "MODIFIED");
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((err) => sendStatus(res, 500, "InternalError", String(err))));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.emit("closing");
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push({ method: req.method ?? "", path: url.pathname });
    const m = PATH.exec(url.pathname);
    const meta = m ? RESOURCES[m[2]!] : undefined;
    if (!m || !meta) return sendStatus(res, 404, "NotFound", `the server could not find the requested resource (${url.pathname})`);
    const [, namespace, resource, name, sub] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const body = req.method === "GET" || req.method === "DELETE" ? undefined : await readJson(req);
    const notFound = () => sendStatus(res, 404, "NotFound", `${resource} "${name}" not found`, { name, kind: resource });
    const q = url.searchParams;

    if (req.method === "GET" && !name) {
      const items = this.list(resource, namespace).filter((o) => matchesLabels(o, q.get("labelSelector")) && matchesFields(o, q.get("fieldSelector")));
      if (q.get("watch") === "true" || q.get("watch") === "1") return this.watch(res, resource, namespace, q);
      return sendJson(res, 200, { kind: `${meta.kind}List`, apiVersion: meta.apiVersion, metadata: { resourceVersion: String(this.rv) }, items });
    }
    if (!name) {
      if (req.method !== "POST") return sendStatus(res, 405, "MethodNotAllowed", "method not allowed");
      const obj = body as KubeObject;
      const objName = obj?.metadata?.name;
      if (!objName) return sendStatus(res, 422, "Invalid", `${meta.kind} is invalid: metadata.name: Required value`);
      if (this.get(resource, namespace, objName)) return sendStatus(res, 409, "AlreadyExists", `${resource} "${objName}" already exists`, { name: objName, kind: resource });
      const created = this.normalize(resource, { ...obj, kind: meta.kind, apiVersion: meta.apiVersion });
      created.metadata.uid = randomUUID();
      created.metadata.creationTimestamp = new Date().toISOString();
      if (resource === "pods") created.status = { phase: "Pending" };
      return sendJson(res, 201, this.put(resource, namespace, created, "ADDED"));
    }
    const current = this.get(resource, namespace, name);
    if (sub === "log") {
      if (!current) return notFound();
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end(this.logsOf(namespace, name, q.has("tailLines") ? Number(q.get("tailLines")) : undefined));
    }
    switch (req.method) {
      case "GET":
        return current ? sendJson(res, 200, current) : notFound();
      case "PUT":
      case "PATCH": {
        if (!current) return notFound();
        const next = req.method === "PUT" ? this.normalize(resource, body as KubeObject) : this.normalize(resource, mergePatch(current, body) as KubeObject);
        if (current.immutable === true && JSON.stringify(next.data) !== JSON.stringify(current.data)) {
          return sendStatus(res, 422, "Invalid", `Secret "${name}" is invalid: data: Forbidden: field is immutable when \`immutable\` is set`);
        }
        const rv = (body as KubeObject | undefined)?.metadata?.resourceVersion;
        if (req.method === "PUT" && rv && rv !== current.metadata.resourceVersion) {
          return sendStatus(res, 409, "Conflict", `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        next.metadata = { ...next.metadata, uid: current.metadata.uid, name, creationTimestamp: current.metadata.creationTimestamp };
        if (sub !== "status" && resource === "pods") next.status = current.status;
        return sendJson(res, 200, this.put(resource, namespace, { ...next, kind: meta.kind, apiVersion: meta.apiVersion }, "MODIFIED"));
      }
      case "DELETE": {
        if (!current) return notFound();
        if (resource === "pods" && this.gracefulPods) {
          if (current.metadata.deletionTimestamp) return sendJson(res, 200, current);
          const grace = q.has("gracePeriodSeconds") ? Number(q.get("gracePeriodSeconds")) : 30;
          const marked = this.update(resource, namespace, name, (o) => {
            o.metadata.deletionTimestamp = new Date().toISOString();
            o.metadata.deletionGracePeriodSeconds = grace;
          });
          return sendJson(res, 200, marked);
        }
        this.remove(resource, namespace, name);
        return sendJson(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, kind: resource, uid: current.metadata.uid } });
      }
      default:
        return sendStatus(res, 405, "MethodNotAllowed", "method not allowed");
    }
  }

  /** stringData is write-only: the API server folds it into data, base64. */
  private normalize(resource: string, obj: KubeObject): KubeObject {
    const o = structuredClone(obj);
    if (resource === "secrets" && o.stringData) {
      const data = { ...((o.data as Record<string, string>) ?? {}) };
      for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) data[k] = Buffer.from(v, "utf8").toString("base64");
      o.data = data;
      delete o.stringData;
    }
    return o;
  }

  private watch(res: ServerResponse, resource: string, namespace: string, q: URLSearchParams): void {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const from = q.get("resourceVersion") ? Number(q.get("resourceVersion")) : this.rv;
    const wanted = (ev: WatchEvent) =>
      ev.resource === resource && ev.namespace === namespace && ev.rv > from && matchesLabels(ev.object, q.get("labelSelector")) && matchesFields(ev.object, q.get("fieldSelector"));
    const write = (ev: WatchEvent) => res.write(JSON.stringify({ type: ev.type, object: ev.object }) + "\n");
    const oldest = this.history[0]?.rv ?? this.rv + 1;
    if (from < oldest - 1 && from < this.rv) {
      res.write(JSON.stringify({ type: "ERROR", object: statusBody(410, "Expired", `too old resource version: ${from} (${oldest - 1})`) }) + "\n");
      return void res.end();
    }
    for (const ev of this.history) if (wanted(ev)) write(ev);
    const onEvent = (ev: WatchEvent) => wanted(ev) && write(ev);
    const end = () => {
      this.off("event", onEvent);
      this.off("closing", end);
      res.end();
    };
    this.on("event", onEvent);
    this.on("closing", end);
    res.on("close", end);
    const timeout = q.get("timeoutSeconds");
    if (timeout) setTimeout(end, Number(timeout) * 1000).unref();
  }
}

/** Equality-based selectors (k=v, k==v, k!=v, k, !k), comma = and: what the runtime sends. */
export function matchesLabels(o: KubeObject, selector: string | null): boolean {
  if (!selector) return true;
  const labels = o.metadata.labels ?? {};
  return selector.split(",").every((term) => {
    const t = term.trim();
    if (t.startsWith("!")) return !(t.slice(1) in labels);
    const ne = /^([^!=]+)!=(.*)$/.exec(t);
    if (ne) return labels[ne[1]!] !== ne[2];
    const eq = /^([^=]+)==?(.*)$/.exec(t);
    if (eq) return labels[eq[1]!] === eq[2];
    return t in labels;
  });
}

function matchesFields(o: KubeObject, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const [k, v] = term.split("=");
    if (k === "metadata.name") return o.metadata.name === v;
    if (k === "metadata.namespace") return o.metadata.namespace === v;
    return false;
  });
}

/** RFC 7386 merge patch (the fake treats strategic-merge patches the same). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code };
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
  sendJson(res, code, statusBody(code, reason, message, details));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}
