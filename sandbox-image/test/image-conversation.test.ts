import type { AgentClient } from "../../test-support/agent-client";
import { describeDocker } from "../../test-support/docker";
import { FakeOpenAI, type ChatRequestBody, type ScriptedAnswer } from "../../test-support/fake-openai";
import { TestSandboxSite, buildImage, docker } from "./image-fixture";

/**
 * The "done means": a container of the image, given a token, the control plane's public key
 * and a fake LLM, holds a conversation over the protocol that creates a task, a reminder, an event
 * and an expense in its own SQLite on its volume, and keeps them across a container restart.
 *
 * The fake LLM (test-support/fake-openai.ts) speaks the OpenAI chat-completions wire format the
 * agent's real `openai` client uses (SSE stream, tool calls with their arguments streamed in
 * pieces). It listens on the test bridge's gateway address, the host's own address on that
 * network, which is the only way a container on it reaches the host.
 */
const TOOL_FOR: [RegExp, string, Record<string, unknown>][] = [
  [/buy milk/, "add_task", { title: "buy milk" }],
  [/call mom/, "set_reminder", { text: "call mom", when: "tomorrow at 5pm" }],
  [/dentist/, "add_event", { title: "Dentist", start: "tomorrow at 10am", durationMinutes: 45 }],
  [/lunch/, "log_expense", { amount: 12.5, currency: "EUR", category: "food", description: "lunch" }],
];

/** Stateless: a user turn gets the tool call its words ask for; a turn that ends in a tool result, a confirmation. */
function answer(body: ChatRequestBody): ScriptedAnswer {
  // The agent streams every chat turn: a request that does not is refused, so a change shows here.
  if (!body.stream) return { status: 400, message: "this fake only streams" };
  const userText = JSON.stringify([...body.messages].reverse().find((m) => m.role === "user")?.content ?? "").toLowerCase();
  const tool = body.messages.at(-1)?.role === "tool" ? undefined : TOOL_FOR.find(([re]) => re.test(userText));
  // Arguments arrive in two pieces, as real providers stream them.
  return tool ? { toolCalls: [{ name: tool[1], arguments: tool[2] }], fragments: 2, tokens: 60 } : { text: "Done, it's noted.", tokens: 60 };
}

describeDocker("agent image: a conversation that survives a container restart", () => {
  const site = new TestSandboxSite();
  let llm: FakeOpenAI;
  let name: string;
  let client: AgentClient | undefined;

  beforeAll(async () => {
    await buildImage();
    await site.create();
    llm = await FakeOpenAI.start(await site.gatewayIp());
    llm.fallback = answer;
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
