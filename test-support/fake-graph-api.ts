import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local server that speaks the parts of Meta's Graph API (WhatsApp Cloud API) the control plane
 * uses, on loopback only. It records every call, validates requests the way Meta does (bearer
 * token, messaging_product, a recipient, 4096-character text), and can be scripted to fail the
 * next message sends with Meta's real error bodies: 429, 400, 130429, 131047, 131026, 500.
 */
export interface RecordedCall {
  method: string;
  path: string;
  authorization?: string;
  body?: any;
  at: number;
}

export interface ScriptedFailure {
  status: number;
  code?: number;
  title?: string;
  details?: string;
  retryAfter?: string;
}

export const FAILURES = {
  rateLimited: { status: 429, code: 130429, title: "Rate limit hit", details: "Cloud API message throughput has been reached." },
  http429: { status: 429, code: 4, title: "Application request limit reached", retryAfter: "0" },
  badRequest: { status: 400, code: 100, title: "Invalid parameter", details: "Parameter value is not valid" },
  throughput: { status: 400, code: 130429, title: "Rate limit hit", details: "Cloud API message throughput has been reached." },
  outsideWindow: { status: 400, code: 131047, title: "Re-engagement message", details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number." },
  undeliverable: { status: 400, code: 131026, title: "Message Undeliverable", details: "Unable to deliver message." },
  serverError: { status: 500, code: 131000, title: "Something went wrong", details: "Message failed to send because of an unknown error." },
} satisfies Record<string, ScriptedFailure>;

export class FakeGraphApi {
  readonly calls: RecordedCall[] = [];
  private server?: Server;
  private failures: ScriptedFailure[] = [];
  private counter = 0;
  /** media id -> file served by the download URL. */
  readonly media = new Map<string, { data: Buffer; mimeType: string }>();
  origin = "";

  constructor(private readonly opts: { accessToken: string; phoneNumberId: string; version?: string }) {}

  get baseUrl(): string {
    return `${this.origin}/${this.opts.version ?? "v22.0"}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** The next message sends fail with these, in order; later ones succeed. */
  failNext(...failures: ScriptedFailure[]): void {
    this.failures.push(...failures);
  }

  /** Message sends Meta accepted (text and template), in arrival order. */
  sentMessages(): any[] {
    return this.calls.filter((c) => c.method === "POST" && c.path.endsWith("/messages") && c.body?.type && (c as any).accepted).map((c) => c.body);
  }

  /** Mark-as-read calls (with or without the typing indicator). */
  readReceipts(): any[] {
    return this.calls.filter((c) => c.method === "POST" && c.body?.status === "read").map((c) => c.body);
  }

  /** Message send attempts, accepted or not. */
  sendAttempts(): RecordedCall[] {
    return this.calls.filter((c) => c.method === "POST" && c.path.endsWith("/messages") && c.body?.type);
  }

  reset(): void {
    this.calls.length = 0;
    this.failures = [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const url = new URL(req.url ?? "/", this.origin);
    const call: RecordedCall & { accepted?: boolean } = { method: req.method ?? "GET", path: url.pathname, authorization: req.headers.authorization, body, at: Date.now() };
    this.calls.push(call);

    if (req.headers.authorization !== `Bearer ${this.opts.accessToken}`) {
      return this.error(res, { status: 401, code: 190, title: "Invalid OAuth access token - Cannot parse access token" });
    }
    const version = this.opts.version ?? "v22.0";
    const parts = url.pathname.split("/").filter(Boolean);

    // Media download: the URL a media lookup returned.
    if (req.method === "GET" && parts[0] === "media-download" && parts[1]) {
      const file = this.media.get(decodeURIComponent(parts[1]));
      if (!file) return this.error(res, { status: 404, code: 100, title: "media not found" });
      res.writeHead(200, { "content-type": file.mimeType, "content-length": String(file.data.length) });
      res.end(file.data);
      return;
    }
    if (parts[0] !== version) return this.error(res, { status: 400, code: 2500, title: "Unknown path components" });

    // GET /<version>/<media-id>
    if (req.method === "GET" && parts.length === 2) {
      const id = decodeURIComponent(parts[1]!);
      const file = this.media.get(id);
      if (!file) return this.error(res, { status: 400, code: 100, title: "Unsupported get request. Object with ID does not exist" });
      return this.json(res, 200, {
        messaging_product: "whatsapp",
        url: `${this.origin}/media-download/${encodeURIComponent(id)}`,
        mime_type: file.mimeType,
        sha256: "0".repeat(64),
        file_size: String(file.data.length),
        id,
      });
    }

    // POST /<version>/<phone-number-id>/messages
    if (req.method === "POST" && parts.length === 3 && parts[2] === "messages") {
      if (parts[1] !== this.opts.phoneNumberId) return this.error(res, { status: 400, code: 100, title: "Unsupported post request" });
      if (body?.messaging_product !== "whatsapp") return this.error(res, { status: 400, code: 100, title: "The parameter messaging_product is required." });
      if (body.status === "read") {
        if (typeof body.message_id !== "string") return this.error(res, { status: 400, code: 100, title: "The parameter message_id is required." });
        return this.json(res, 200, { success: true });
      }
      const failure = this.failures.shift();
      if (failure) return this.error(res, failure);
      const to = body.to ?? body.recipient;
      if (typeof to !== "string") return this.error(res, { status: 400, code: 100, title: "The parameter to is required." });
      if (body.type === "text" && (typeof body.text?.body !== "string" || body.text.body.length > 4096)) {
        return this.error(res, { status: 400, code: 100, title: "Param text['body'] must be at most 4096 characters long." });
      }
      if (body.type === "template" && typeof body.template?.name !== "string") {
        return this.error(res, { status: 400, code: 100, title: "The parameter template['name'] is required." });
      }
      call.accepted = true;
      const id = `wamid.FAKE${(++this.counter).toString().padStart(6, "0")}`;
      return this.json(res, 200, {
        messaging_product: "whatsapp",
        contacts: [{ input: to, wa_id: body.to ?? undefined, user_id: body.recipient ?? undefined }],
        messages: [{ id }],
      });
    }
    return this.error(res, { status: 400, code: 100, title: "Unsupported request" });
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, f: ScriptedFailure): void {
    this.json(
      res,
      f.status,
      {
        error: {
          message: `(#${f.code ?? 0}) ${f.title ?? "error"}`,
          type: "OAuthException",
          code: f.code,
          error_data: { messaging_product: "whatsapp", details: f.details ?? f.title ?? "" },
          fbtrace_id: "AbCdEfGhIjKlMnOp",
        },
      },
      f.retryAfter !== undefined ? { "retry-after": f.retryAfter } : {},
    );
  }
}
