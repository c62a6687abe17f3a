import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentClient } from "../../test-support/agent-client";
import { describeDocker } from "../../test-support/docker";
import { TestSandboxSite, buildImage, docker } from "./image-fixture";

/**
 * The "done means": a container of the image, given a token, the control plane's public key
 * and a fake LLM, holds a conversation over the protocol that creates a task, a reminder, an event
 * and an expense in its own SQLite on its volume, and keeps them across a container restart.
 *
 * The fake LLM speaks the OpenAI chat-completions wire format the agent's real `openai` client
 * uses (SSE stream, tool calls with their arguments streamed in pieces). It listens on the test
 * bridge's gateway address, the host's own address on that network, which is the only way a
 * container on it reaches the host. It is stateless: a user turn gets the tool call its words ask
 * for; a turn that ends in a tool result gets a short confirmation.
 */
const TOOL_FOR: [RegExp, string, Record<string, unknown>][] = [
  [/buy milk/, "add_task", { title: "buy milk" }],
  [/call mom/, "set_reminder", { text: "call mom", when: "tomorrow at 5pm" }],
  [/dentist/, "add_event", { title: "Dentist", start: "tomorrow at 10am", durationMinutes: 45 }],
  [/lunch/, "log_expense", { amount: 12.5, currency: "EUR", category: "food", description: "lunch" }],
];

interface LlmRequest {
  authorization?: string;
  body: { model: string; stream?: boolean; messages: { role: string; content: unknown }[] };
}

class ScriptedLlm {
  readonly requests: LlmRequest[] = [];
  private constructor(private readonly server: Server) {}

  static async start(host: string): Promise<ScriptedLlm> {
    const server = createServer();
    const llm = new ScriptedLlm(server);
    server.on("request", (req, res) => void llm.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, host, () => resolve());
    });
    return llm;
  }

  get baseURL(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.address}:${a.port}/v1`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as LlmRequest["body"];
    this.requests.push({ authorization: req.headers.authorization, body });
    const last = body.messages[body.messages.length - 1];
    const userText = JSON.stringify([...body.messages].reverse().find((m) => m.role === "user")?.content ?? "").toLowerCase();
    const tool = last?.role === "tool" ? undefined : TOOL_FOR.find(([re]) => re.test(userText));
    const base = { id: `chatcmpl-${this.requests.length}`, object: "chat.completion.chunk", created: 1_767_225_600, model: body.model };
    const events: unknown[] = [];
    if (tool) {
      const [, name, args] = tool;
      const json = JSON.stringify(args);
      const half = Math.floor(json.length / 2);
      const callId = `call_${this.requests.length}`;
      events.push({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: null, tool_calls: [{ index: 0, id: callId, type: "function", function: { name, arguments: "" } }] }, finish_reason: null }] });
      // Arguments arrive in two pieces, as real providers stream them.
      events.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: json.slice(0, half) } }] }, finish_reason: null }] });
      events.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: json.slice(half) } }] }, finish_reason: null }] });
      events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] });
    } else {
      events.push({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
      events.push({ ...base, choices: [{ index: 0, delta: { content: "Done, " }, finish_reason: null }] });
      events.push({ ...base, choices: [{ index: 0, delta: { content: "it's noted." }, finish_reason: null }] });
      events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    }
    events.push({ ...base, choices: [], usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 } });
    if (!body.stream) {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "this fake only streams", type: "invalid_request_error" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const e of events) res.write(`data: ${JSON.stringify(e)}\n\n`);
    res.end("data: [DONE]\n\n");
  }
}

describeDocker("agent image: a conversation that survives a container restart", () => {
  const site = new TestSandboxSite();
  let llm: ScriptedLlm;
  let name: string;
  let client: AgentClient | undefined;

  beforeAll(async () => {
    await buildImage();
    await site.create();
    llm = await ScriptedLlm.start(await site.gatewayIp());
    ({ name } = await site.startAgent({ LLM_BASE_URL: llm.baseURL, LLM_MODEL: "test/chat-model", USER_TIMEZONE: "Europe/Berlin" }));
  }, 600_000);
  afterAll(async () => {
    client?.close();
    await llm?.close();
    await site.cleanup();
  }, 60_000);

  const say = (c: AgentClient, key: string, text: string) =>
    c.call("chat.send", { idempotencyKey: key, channel: "whatsapp", text }, 90_000);

  it("creates a task, a reminder, an event and an expense through the LLM's tool calls, and keeps them across a restart", async () => {
    client = await site.connect(await site.ip(name));
    const turns = [
      ["t1", "add buy milk to my tasks"],
      ["t2", "remind me to call mom tomorrow at 5pm"],
      ["t3", "I have the dentist tomorrow at 10"],
      ["t4", "spent 12.50 EUR on lunch"],
    ] as const;
    for (const [key, text] of turns) {
      const reply = await say(client, key, text);
      expect(reply.reply).toContain("noted");
      expect(reply.llmCalls).toBe(2); // the tool call, then the confirmation
    }
    // The container reached the fake through the bridge, authenticated by the sandbox token only.
    expect(llm.requests).toHaveLength(8);
    expect(new Set(llm.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${site.creds.token}`]));
    // The reminder made the agent announce its next alarm.
    const alarm = client.events.find((e) => e.event === "alarm.set" && (e.payload as { at: string | null }).at !== null);
    expect(alarm).toBeDefined();

    const before = await client.call("data.export", {}, 30_000);
    const check = (tables: Record<string, Record<string, unknown>[]>) => {
      expect(tables.tasks?.map((r) => r.title)).toEqual(["buy milk"]);
      expect(tables.reminders?.map((r) => r.text ?? r.body)).toEqual(["call mom"]);
      expect(tables.schedule_events?.map((r) => r.title)).toEqual(["Dentist"]);
      expect(tables.expenses?.map((r) => [r.amount_minor, r.currency])).toEqual([[1250, "EUR"]]);
    };
    check(before.tables);
    client.close();
    client = undefined;

    // Restart the container: same volume, new process. The data must still be there.
    await docker(["restart", "-t", "10", name], {}, 60_000);
    client = await site.connect(await site.ip(name));
    const after = await client.call("data.export", {}, 30_000);
    check(after.tables);
    expect(after.tables).toEqual(before.tables);

    // A redelivered turn after the restart returns the stored reply without calling the LLM again.
    const replay = await say(client, "t4", "spent 12.50 EUR on lunch");
    expect(replay.reply).toContain("noted");
    expect(llm.requests).toHaveLength(8);
    expect((await client.call("data.export", {}, 30_000)).tables.expenses).toHaveLength(1);
    client.close();
    client = undefined;

    // A new container on the same volume (an upgrade or a recreate): the data lives on the volume.
    await docker(["rm", "-f", name]);
    const { ip } = await site.startAgent({ LLM_BASE_URL: llm.baseURL, LLM_MODEL: "test/chat-model", USER_TIMEZONE: "Europe/Berlin" });
    client = await site.connect(ip);
    check((await client.call("data.export", {}, 30_000)).tables);
  }, 300_000);
});
