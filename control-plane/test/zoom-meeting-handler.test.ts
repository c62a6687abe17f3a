import { meetingHandler } from "../src/channels/zoom";
import { createAgentPort } from "../src/agent-port";
import { PermanentEventError } from "../src/inbox/dispatcher";
import type { InboundEventRow } from "../src/inbox/types";
import { createLogger } from "../src/logger";

/**
 * The "meeting" handler on its own: what it asks the agent and what it hands the outbox. The agent
 * here is a recording stand-in (the real agent is exercised in zoom-e2e.test.ts).
 */
function row(payload: Record<string, unknown>, providerId = "zoom:ended:m=="): InboundEventRow {
  return { id: "ev-1", userId: "u-1", channel: "zoom", kind: "meeting", providerId, payload, priority: 100, attempts: 1, createdAt: new Date() };
}

describe("Zoom meeting handler", () => {
  const ctx = { signal: new AbortController().signal, log: createLogger({ level: "silent" }) };
  const calls: { method: string; params: any }[] = [];
  const make = (result: { message?: string; tasksCreated: number }) =>
    meetingHandler({
      agent: createAgentPort({
        sandboxes: { ensure: async (userId) => ({ userId, sandboxId: `sbx-${userId}`, endpoint: "ws://127.0.0.1:1", token: "t" }) },
        connections: {
          request: (async (_t: unknown, method: string, params: unknown) => {
            calls.push({ method, params });
            return result;
          }) as never,
        },
      }),
    });
  beforeEach(() => void (calls.length = 0));

  it("sends meeting.event with the provider id as idempotency key and the transcript lines as given", async () => {
    const lines = [{ speaker: "Ana", text: "hi", ts: "2026-11-21T10:00:00.000Z" }];
    const out = await make({ tasksCreated: 0 })(row({ meetingId: "m==", kind: "transcript", lines }, "zoom:rtms:s:1"), ctx);
    expect(calls).toEqual([{ method: "meeting.event", params: { idempotencyKey: "zoom:rtms:s:1", meetingId: "m==", kind: "transcript", lines } }]);
    expect(out).toEqual([]);
  });

  it("turns the summary into one proactive WhatsApp message, split in order when it is over 4096 characters", async () => {
    const short = await make({ message: "Meeting summary: done", tasksCreated: 1 })(row({ meetingId: "m==", kind: "ended" }), ctx);
    expect(short).toEqual([{ userId: "u-1", channel: "whatsapp", kind: "text", body: "Meeting summary: done", proactive: true, inboxId: "ev-1", meta: { meetingId: "m==", reason: "meeting_summary" } }]);
    const long = "Meeting summary: " + Array.from({ length: 300 }, (_, i) => `- Action item number ${i} for someone.`).join("\n");
    const parts = (await make({ message: long, tasksCreated: 300 })(row({ meetingId: "m==", kind: "ended" }), ctx)) ?? [];
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.body.length <= 4096 && p.proactive === true && p.channel === "whatsapp")).toBe(true);
    expect(parts.map((p) => p.body).join("\n")).toBe(long);
  });

  it("refuses a payload that is not a meeting event (so it dead-letters instead of confusing the agent)", async () => {
    await expect(make({ tasksCreated: 0 })(row({ kind: "dance" }), ctx)).rejects.toBeInstanceOf(PermanentEventError);
    expect(calls).toEqual([]);
  });
});
