import { Agent, interceptors, request, type Dispatcher } from "undici";
import type { Clock } from "../../clock";
import type { Logger } from "../../logger";
import { retry, validateRetryPolicy, type RetryPolicy } from "../../retry";
import { GraphApiError, GraphNetworkError, GraphRequestError, graphErrorFrom } from "./graph-errors";
import { WHATSAPP_TEXT_LIMIT } from "./split-message";

/**
 * A typed client for the parts of the WhatsApp Cloud API the assistant uses: send text and
 * templates, mark read with the typing indicator, download media. Every call goes through one
 * request function that maps failures to typed errors (graph-errors.ts) and retries the retryable
 * ones with the shared backoff helper.
 *
 * HTTP is undici's `request` on a keep-alive agent of the client's own, not the global `fetch`:
 * every reply costs two Graph calls (read + typing, then the send), and fetch's WHATWG streams and
 * per-call AbortSignal timer cost about 1 ms of CPU per call against ~0.15 ms (same local server,
 * same process, 4,000 calls each); in the route bench they were the control plane's second-largest
 * cost after PostgreSQL's driver.
 */
export interface GraphClientOptions {
  /** e.g. https://graph.facebook.com/v22.0 (config.whatsappApiBaseUrl); a function when it is known
   * only once the server listens (the built-in local sink on PORT=0). */
  baseUrl: string | (() => string);
  phoneNumberId: string;
  accessToken: string;
  logger: Logger;
  clock?: Clock;
  /** Attempts inside one call. The outbox retries again later on a retryable failure. */
  retry?: RetryPolicy;
  timeoutMs?: number;
  /** Largest media file accepted for download (WhatsApp's own audio limit is 16 MB). */
  maxMediaBytes?: number;
}

/** Who to send to: the phone number (wa_id) when known, else the business-scoped user id. */
export interface Recipient {
  waId?: string | null;
  bsuid?: string | null;
}

export interface MediaInfo {
  id: string;
  url: string;
  mimeType: string;
  sha256?: string;
  fileSize?: number;
}

export const DEFAULT_GRAPH_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8000 };

interface SendResponse {
  messages?: { id?: string }[];
}

export class GraphApiClient {
  private readonly log: Logger;
  private readonly policy: RetryPolicy;
  /** Keep-alive connections to the Graph API; media URLs may redirect (as fetch followed them). */
  private readonly http: Dispatcher;

  constructor(private readonly opts: GraphClientOptions) {
    this.log = opts.logger.child({ component: "whatsapp-graph" });
    this.policy = validateRetryPolicy(opts.retry ?? DEFAULT_GRAPH_RETRY);
    this.http = new Agent().compose(interceptors.redirect({ maxRedirections: 3 }));
  }

  private get base(): string {
    const base = typeof this.opts.baseUrl === "function" ? this.opts.baseUrl() : this.opts.baseUrl;
    return base.replace(/\/+$/, "");
  }

  /** Sends a text message; returns its wamid. */
  async sendText(to: Recipient, body: string, opts: { replyTo?: string; previewUrl?: boolean } = {}): Promise<{ wamid: string }> {
    if (body.length === 0) throw new GraphRequestError("a WhatsApp text message cannot be empty", 0, undefined, false);
    if (body.length > WHATSAPP_TEXT_LIMIT) {
      // Split upstream (splitMessage) so the parts are separate, ordered outbox rows.
      throw new GraphRequestError(`text is ${body.length} characters; WhatsApp allows ${WHATSAPP_TEXT_LIMIT}`, 0, undefined, false);
    }
    return this.sendMessage(to, {
      type: "text",
      text: { preview_url: opts.previewUrl ?? false, body },
      ...(opts.replyTo ? { context: { message_id: opts.replyTo } } : {}),
    });
  }

  /** Sends an approved template, with its body parameters as text. */
  async sendTemplate(to: Recipient, template: { name: string; language: string; bodyParameters?: string[] }): Promise<{ wamid: string }> {
    const components = template.bodyParameters?.length
      ? [{ type: "body", parameters: template.bodyParameters.map((text) => ({ type: "text", text })) }]
      : undefined;
    return this.sendMessage(to, {
      type: "template",
      template: { name: template.name, language: { code: template.language }, ...(components ? { components } : {}) },
    });
  }

  /**
   * Marks an inbound message read (blue ticks) and, with typing, shows "typing…" to the user.
   * WhatsApp dismisses the indicator after about 25 seconds or when a reply arrives.
   */
  async markRead(wamid: string, opts: { typing?: boolean } = {}): Promise<void> {
    await this.request("POST", `${this.base}/${encodeURIComponent(this.opts.phoneNumberId)}/messages`, {
      messaging_product: "whatsapp",
      status: "read",
      message_id: wamid,
      ...(opts.typing ? { typing_indicator: { type: "text" } } : {}),
    });
  }

  /** GET /<media-id>: a short-lived URL for the file, which needs the same bearer token. */
  async getMedia(mediaId: string): Promise<MediaInfo> {
    const res = (await this.request("GET", `${this.base}/${encodeURIComponent(mediaId)}`)) as Record<string, unknown>;
    if (typeof res.url !== "string") throw new GraphRequestError("media lookup answered without a url", 200, undefined, false);
    return {
      id: typeof res.id === "string" ? res.id : mediaId,
      url: res.url,
      mimeType: typeof res.mime_type === "string" ? res.mime_type : "application/octet-stream",
      sha256: typeof res.sha256 === "string" ? res.sha256 : undefined,
      fileSize: res.file_size !== undefined ? Number(res.file_size) : undefined,
    };
  }

  /** Looks the media up, then downloads it with the bearer token. */
  async downloadMedia(mediaId: string): Promise<{ data: Buffer; mimeType: string }> {
    const info = await this.getMedia(mediaId);
    const max = this.opts.maxMediaBytes ?? 16 * 1024 * 1024;
    if (info.fileSize !== undefined && info.fileSize > max) {
      throw new GraphRequestError(`media ${mediaId} is ${info.fileSize} bytes; the limit is ${max}`, 0, undefined, false);
    }
    const data = (await this.request("GET", info.url, undefined, { binary: true, maxBytes: max })) as Buffer;
    return { data, mimeType: info.mimeType };
  }

  private async sendMessage(to: Recipient, content: Record<string, unknown>): Promise<{ wamid: string }> {
    const address = to.waId ? { to: to.waId } : to.bsuid ? { recipient: to.bsuid } : undefined;
    if (!address) throw new GraphRequestError("the user has neither a wa_id nor a business-scoped user id", 0, undefined, false);
    const res = (await this.request("POST", `${this.base}/${encodeURIComponent(this.opts.phoneNumberId)}/messages`, {
      messaging_product: "whatsapp",
      recipient_type: "individual",
      ...address,
      ...content,
    })) as SendResponse;
    const wamid = res.messages?.[0]?.id;
    if (!wamid) throw new GraphRequestError("send answered without a message id", 200, undefined, false);
    return { wamid };
  }

  private async request(
    method: "GET" | "POST",
    url: string,
    body?: unknown,
    opts: { binary?: boolean; maxBytes?: number } = {},
  ): Promise<unknown> {
    const path = new URL(url).pathname;
    const timeoutMs = this.opts.timeoutMs ?? 20_000;
    return retry(
      async () => {
        let res: Dispatcher.ResponseData;
        try {
          res = await request(url, {
            method,
            dispatcher: this.http,
            headers: {
              authorization: `Bearer ${this.opts.accessToken}`,
              ...(body !== undefined ? { "content-type": "application/json" } : {}),
            },
            body: body !== undefined ? JSON.stringify(body) : undefined,
            // No answer (or no next chunk) within the timeout fails the call, as fetch's signal did.
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          });
        } catch (err) {
          // A timed-out send may still have been delivered; WhatsApp has no idempotency key, so a
          // retry can duplicate it. We accept that rather than drop a reply.
          throw new GraphNetworkError(`Graph API unreachable: ${(err as Error).message}`, 0, undefined, true);
        }
        const status = res.statusCode;
        if (status < 200 || status > 299) {
          const text = await res.body.text().catch(() => "");
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const retryAfter = res.headers["retry-after"];
          throw graphErrorFrom(status, parsed, (Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) ?? null);
        }
        if (opts.binary) return readAtMost(res, opts.maxBytes);
        return res.body.json().catch(() => ({}));
      },
      {
        policy: this.policy,
        clock: this.opts.clock,
        retryable: (err) =>
          err instanceof GraphApiError && err.retryable ? (err.retryAfterMs !== undefined ? { afterMs: err.retryAfterMs } : true) : false,
        onRetry: (err, attempt, delayMs) =>
          this.log.warn({ method, path, attempt, delayMs, code: (err as GraphApiError).code }, "Graph API call failed; retrying"),
      },
    );
  }
}

/** A response body as a Buffer, failing (and dropping the connection) once it passes `maxBytes`. */
async function readAtMost(res: Dispatcher.ResponseData, maxBytes = Infinity): Promise<Buffer> {
  const tooLarge = () => new GraphRequestError(`media is larger than ${maxBytes} bytes`, res.statusCode, undefined, false);
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
