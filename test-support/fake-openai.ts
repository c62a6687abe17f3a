import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local OpenAI-compatible server for agent tests, spoken to by the real `openai` client. Each
 * POST .../chat/completions takes the next scripted response; streamed requests get real SSE
 * chunks (tool-call arguments split into fragments, a usage chunk, `[DONE]`), others get one JSON
 * body. Errors come back with the provider's JSON error shape and status. Every request is
 * recorded so tests can count model calls exactly.
 */
export type ScriptedAnswer =
  | { text: string; tokens?: number; delayMs?: number }
  | { toolCalls: { name: string; arguments: unknown; id?: string }[]; text?: string; tokens?: number; fragments?: number }
  | { status: number; message?: string; code?: string }
  /** Never answers (until the server closes): for timeouts. */
  | { hang: true };
/** An answer, or a function of the request that picks one. */
export type Scripted = ScriptedAnswer | ((body: ChatRequestBody) => ScriptedAnswer);

export interface ChatRequestBody {
  model: string;
  messages: { role: string; content?: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
  stream?: boolean;
  tools?: { type: string; function: { name: string; parameters: unknown } }[];
  tool_choice?: unknown;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
}

export interface RecordedRequest {
  path: string;
  authorization: string | undefined;
  /** x-concierge-purpose: what the gateway meters this call as. */
  purpose: string | undefined;
  body: ChatRequestBody;
}

export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  private queue: Scripted[] = [];
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  baseURL = "";
  /** Most requests in flight at once (the agent should never exceed 1). */
  maxConcurrent = 0;
  private active = 0;
  /** Answer when the script has run out. */
  fallback: Scripted = { text: "(no scripted response)" };

  get calls(): number {
    return this.requests.length;
  }

  /** `host`: where it listens; a container reaches the host only on its bridge's gateway address. */
  static async start(host = "127.0.0.1"): Promise<FakeOpenAI> {
    const f = new FakeOpenAI();
    await f.listen(host);
    return f;
  }

  script(...responses: Scripted[]): this {
    this.queue.push(...responses);
    return this;
  }

  pending(): number {
    return this.queue.length;
  }

  private async listen(host: string): Promise<void> {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(0, host, resolve);
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseURL = `http://${host}:${port}/v1`;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequestBody;
    this.requests.push({ path: req.url, authorization: req.headers.authorization, purpose: req.headers["x-concierge-purpose"] as string | undefined, body });
    let step = this.queue.shift() ?? this.fallback;
    if (typeof step === "function") step = step(body);
    this.active++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.active);
    res.on("close", () => this.active--);
    if ("delayMs" in step && step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));

    if ("hang" in step) {
      this.hanging.add(res);
      res.on("close", () => this.hanging.delete(res));
      return;
    }
    if ("status" in step) {
      res.writeHead(step.status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: step.message ?? `scripted ${step.status}`, type: "scripted_error", code: step.code ?? null } }));
      return;
    }
    const id = `chatcmpl-${this.requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    const tokens = step.tokens ?? 10;
    const calls =
      "toolCalls" in step
        ? step.toolCalls.map((c, i) => ({
            id: c.id ?? `call_${this.requests.length}_${i}`,
            name: c.name,
            arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments),
          }))
        : [];
    const text = step.text ?? "";
    const finish = calls.length ? "tool_calls" : "stop";
    const usage = { prompt_tokens: tokens - 1, completion_tokens: 1, total_tokens: tokens };

    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model: body.model,
          choices: [
            {
              index: 0,
              finish_reason: finish,
              message: {
                role: "assistant",
                content: text || null,
                ...(calls.length ? { tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) } : {}),
              },
            },
          ],
          usage,
        }),
      );
      return;
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`);
    send({ role: "assistant", content: "" });
    // Text in a few pieces, the way a model streams words.
    for (const piece of text.match(/.{1,8}/gs) ?? []) send({ content: piece });
    const fragments = "fragments" in step && step.fragments ? step.fragments : 3;
    calls.forEach((c, index) => {
      send({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] });
      const size = Math.max(1, Math.ceil(c.arguments.length / fragments));
      for (let i = 0; i < c.arguments.length; i += size) {
        send({ tool_calls: [{ index, function: { arguments: c.arguments.slice(i, i + size) } }] });
      }
    });
    send({}, finish);
    if (body.stream_options?.include_usage) {
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage })}\n\n`);
    }
    res.end("data: [DONE]\n\n");
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
    await closed;
  }
}
