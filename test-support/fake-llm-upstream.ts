import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A local stand-in for an OpenAI-compatible provider (OpenRouter, OpenAI, llama.cpp): it speaks
 * the real wire format (JSON completions, SSE streams ending in `data: [DONE]`, OpenAI error
 * bodies, Retry-After) and records every request it receives. Tests script its answers in order;
 * with nothing scripted it answers a plain completion.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, when it was JSON. */
  json?: any;
  receivedAt: number;
}

export type Script =
  | { kind: "json"; status?: number; body: unknown; headers?: Record<string, string>; delayMs?: number }
  | {
      kind: "sse";
      /** Each is sent as one `data:` event; "[DONE]" is appended unless `done` is false. */
      events: unknown[];
      gapMs?: number;
      /** Waits for this before sending the last event: proves the gateway relayed the earlier ones. */
      holdBeforeLast?: Promise<void>;
      /** Stop answering after this many events (the connection stays open, silent). */
      stallAfter?: number;
      done?: boolean;
    }
  | { kind: "hang" }
  | { kind: "raw"; status: number; body: string; headers?: Record<string, string> };

export interface SseProgress {
  sent: number;
  lastSentAt?: number;
  finished: boolean;
}

export const DEFAULT_USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

export function chatCompletion(content: string, opts: { model?: string; usage?: Record<string, unknown> | null } = {}) {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: 1_767_225_600,
    model: opts.model ?? "test/chat-model",
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: "stop" }],
    ...(opts.usage === null ? {} : { usage: opts.usage ?? DEFAULT_USAGE }),
  };
}

/** The chunks a provider streams for `parts`, then (as include_usage asks) one usage chunk with no choices. */
export function chatChunks(parts: string[], opts: { model?: string; usage?: Record<string, unknown> | null } = {}): unknown[] {
  const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1_767_225_600, model: opts.model ?? "test/chat-model" };
  const chunks: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }];
  for (const p of parts) chunks.push({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
  chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
  if (opts.usage !== null) chunks.push({ ...base, choices: [], usage: opts.usage ?? DEFAULT_USAGE });
  return chunks;
}

export function openAIError(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

export class FakeLlmUpstream {
  readonly requests: RecordedRequest[] = [];
  /** Progress of each SSE answer, in the order they started. */
  readonly streams: SseProgress[] = [];
  /** Requests whose connection the gateway closed before the answer was complete. */
  disconnects = 0;
  private readonly scripts: Script[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** Base URL as LLM_BASE_URL takes it, e.g. http://127.0.0.1:PORT/v1 */
    readonly url: string,
  ) {}

  static async start(): Promise<FakeLlmUpstream> {
    let self!: FakeLlmUpstream;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        let json: unknown;
        if (String(req.headers["content-type"] ?? "").includes("json")) {
          try {
            json = JSON.parse(body.toString("utf8"));
          } catch {
            json = undefined;
          }
        }
        self.requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json, receivedAt: Date.now() });
        res.on("close", () => {
          if (!res.writableFinished) self.disconnects++;
        });
        void self.answer(res, self.scripts.shift() ?? { kind: "json", body: chatCompletion("hello from the fake provider") });
      });
    });
    server.on("connection", (s) => {
      self.sockets.add(s);
      s.on("close", () => self.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    self = new FakeLlmUpstream(server, `http://127.0.0.1:${port}/v1`);
    return self;
  }

  /** Answers for the next requests, in order. */
  enqueue(...scripts: Script[]): void {
    this.scripts.push(...scripts);
  }

  private async answer(res: ServerResponse, s: Script): Promise<void> {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    if (s.kind === "hang") return;
    if (s.kind === "raw") {
      res.writeHead(s.status, { "content-type": "text/plain", ...s.headers });
      res.end(s.body);
      return;
    }
    if (s.kind === "json") {
      if (s.delayMs) await sleep(s.delayMs);
      if (res.destroyed) return;
      res.writeHead(s.status ?? 200, { "content-type": "application/json", ...s.headers });
      res.end(JSON.stringify(s.body));
      return;
    }
    const progress: SseProgress = { sent: 0, finished: false };
    this.streams.push(progress);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    res.flushHeaders();
    const events = [...s.events.map((e) => JSON.stringify(e)), ...(s.done === false ? [] : ["[DONE]"])];
    for (let i = 0; i < events.length; i++) {
      if (s.stallAfter !== undefined && i >= s.stallAfter) return;
      if (i === events.length - 1 && s.holdBeforeLast) await s.holdBeforeLast;
      else if (i > 0 && s.gapMs) await sleep(s.gapMs);
      if (res.destroyed) return;
      res.write(`data: ${events[i]}\n\n`);
      progress.sent++;
      progress.lastSentAt = Date.now();
    }
    progress.finished = true;
    res.end();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
