import { NO_MODEL } from "../src/brain/understanding/understand";
import { key, startAgent, type Harness } from "./agent-harness";
import { CORPUS, type PhrasingCase } from "./phrasing-corpus";

const NOW = "2026-11-18T08:00:00Z"; // Wednesday 09:00 in Berlin

async function rows(h: Harness, sql: string): Promise<Record<string, unknown>[]> {
  const r = await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "query_database", arguments: JSON.stringify({ sql }) });
  return JSON.parse(r.output).rows;
}

/** One request on a fresh agent with no model: what it replied, and what is wrong with the rows. */
async function attempt(c: PhrasingCase): Promise<{ reply: string; problems: string[] }> {
  const h = await startAgent({ timezone: "Europe/Berlin", now: NOW });
  try {
    for (const [name, args] of c.seed ?? []) await h.call("tool.call", { trust: "full", idempotencyKey: key(), name, arguments: JSON.stringify(args) });
    const r = await h.call("chat.send", { idempotencyKey: key(), channel: "whatsapp", text: c.text });
    const problems: string[] = [];
    if (r.llmCalls !== 0) problems.push("called a model");
    if (r.reply.includes(NO_MODEL) || /I didn't understand/.test(r.reply)) problems.push("not understood");
    if (c.reply && !c.reply.test(r.reply)) problems.push(`reply does not match ${c.reply}`);
    for (const e of c.expect) {
      const got = await rows(h, e.sql);
      if (JSON.stringify(got) !== JSON.stringify(e.rows)) problems.push(`${e.sql}\n      got      ${JSON.stringify(got)}\n      expected ${JSON.stringify(e.rows)}`);
    }
    return { reply: r.reply, problems };
  } finally {
    h.close();
  }
}

describe("offline phrasing corpus (no model): everyday requests leave the right rows", () => {
  it("has at least 150 requests across every domain", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
    expect(new Set(CORPUS.map((c) => c.text)).size).toBe(CORPUS.length);
  });

  it("handles at least 95 % of them: the stored rows are exactly right and nothing is left not understood", async () => {
    const misses: string[] = [];
    for (const c of CORPUS) {
      const { reply, problems } = await attempt(c);
      if (problems.length > 0) misses.push(`"${c.text}" → ${JSON.stringify(reply)}\n    ${problems.join("\n    ")}`);
    }
    const handled = (CORPUS.length - misses.length) / CORPUS.length;
    if (misses.length > 0) process.stdout.write(`\nphrasing corpus: ${CORPUS.length - misses.length}/${CORPUS.length} handled (${(handled * 100).toFixed(1)} %)\n${misses.join("\n")}\n`);
    expect(handled).toBeGreaterThanOrEqual(0.95);
  }, 120_000);
});
