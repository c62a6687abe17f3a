import { createServer } from "node:net";
import { FakeOpenAI } from "../../test-support/fake-openai";
import { key, startAgent, withTempDir } from "./agent-harness";

/** A loopback port that was free a moment ago: nothing listens there (the control plane is down). */
async function deadPort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

describe("audit 15.7: a provider failure becomes the stored idempotent reply", () => {
  it("runs the retried turn again once the gateway is back, instead of replaying the apology", async () => {
    const port = await deadPort();
    await withTempDir("agent-audit-", async (dataDir) => {
      // The agent's gateway URL points at a control plane that has just crashed.
      const first = await startAgent({ llm: { baseURL: `http://127.0.0.1:${port}/v1` } as FakeOpenAI, dataDir });
      const k = key("crash");
      try {
        const err = await first.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "what is on today?" }).catch((e) => e);
        // The dispatcher retries a retryable agent error (AgentRequestError.retryable) and stores nothing.
        expect(err).toMatchObject({ code: "busy", retryable: true });
        first.close();

        // The control plane is back: the same turn, redelivered under the same key, really runs.
        const llm = await FakeOpenAI.start();
        try {
          llm.script({ text: "You have a dentist appointment at 3." });
          const again = await startAgent({ llm, dataDir });
          try {
            const r = await again.call("chat.send", { idempotencyKey: k, channel: "whatsapp", text: "what is on today?" });
            expect(r.reply).toBe("You have a dentist appointment at 3.");
            expect(llm.calls).toBe(1);
            // Only the turn that ran is in the history the model saw: the failed one left nothing.
            const users = llm.requests[0]!.body.messages.filter((m) => m.role === "user").map((m) => m.content);
            expect(users).toEqual(["what is on today?"]);
          } finally {
            again.close();
          }
        } finally {
          await llm.close();
        }
      } finally {
        first.close();
      }
    });
  });
});
