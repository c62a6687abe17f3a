/**
 * `npm run bench -- prompt`
 *
 * The real agent (createAgent, the real openai client) against a local OpenAI-compatible server
 * that records every request. Reports the prompt tokens of a chat turn's first call, of the call
 * after a tool round, and of a heartbeat, and whether the cacheable prefix (tools + the stable
 * system message) is byte-identical across two turns. Tokens are counted with gpt-tokenizer
 * (o200k_base); tool definitions are counted as their JSON text, which errs high.
 */
import { FakeOpenAI } from "../../test-support/fake-openai";
import { promptTokens, stablePrefix } from "../../test-support/prompt-tokens";
import { key, startAgent } from "../test/agent-harness";

async function main(): Promise<void> {
  const llm = await FakeOpenAI.start();
  const h = await startAgent({ llm, timezone: "Europe/Berlin", now: "2026-11-21T07:30:00Z", userName: "Sam" });
  try {
    llm.script(
      { text: "Morning, Sam!" },
      { toolCalls: [{ name: "add_task", arguments: { title: "buy milk" } }] },
      { text: "Added buy milk." },
      { text: "Good morning! Your day: buy milk." },
    );
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "good morning" });
    h.setNow("2026-11-21T07:31:00Z");
    await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: "add buy milk to my list" });
    // 08:40 local: inside the morning-brief window of the default HEARTBEAT.md.
    await h.call("heartbeat.run", { idempotencyKey: key(), now: "2026-11-21T07:40:00Z" });
    const [first, second, toolRound, heartbeat] = llm.requests.map((r) => r.body);
    const rows: [string, ReturnType<typeof promptTokens> | null][] = [
      ["chat turn, first call", first ? promptTokens(first) : null],
      ["chat turn 2, first call", second ? promptTokens(second) : null],
      ["chat turn 2, after one tool round", toolRound ? promptTokens(toolRound) : null],
      ["heartbeat (no tools)", heartbeat ? promptTokens(heartbeat) : null],
    ];
    console.log("| request | prompt tokens | of which tools | messages |");
    console.log("|---|---:|---:|---:|");
    for (const [name, t] of rows) console.log(t ? `| ${name} | ${t.total} | ${t.tools} | ${t.messages} |` : `| ${name} | (not sent) | | |`);
    const same = first && second ? stablePrefix(first) === stablePrefix(second) : false;
    const prefixTokens = first ? promptTokens({ ...first, messages: first.messages.slice(0, 1) }).total : 0;
    console.log(`\nprefix (tools + stable system message) byte-identical across two turns: ${same ? "yes" : "NO"} (${prefixTokens} tokens)`);
    console.log(`requests recorded: ${llm.calls}`);
  } finally {
    h.close();
    await llm.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
