import { FakeOpenAI } from "../../test-support/fake-openai";
import { extractActionItems } from "../src/meetings/action-items";
import { key, startAgent, type Harness } from "./agent-harness";

const ts = (hhmm: string) => `2026-11-18T${hhmm}:00Z`;

async function tasks(h: Harness): Promise<any[]> {
  const r = await h.call("tool.call", { trust: "full", idempotencyKey: key(), name: "list_tasks", arguments: "{}" });
  return JSON.parse(r.output).tasks;
}

async function runMeeting(h: Harness, meetingId: string, endKey = key("end")) {
  await h.call("meeting.event", { idempotencyKey: key(), meetingId, kind: "started", topic: "Launch plan", at: ts("09:00") });
  await h.call("meeting.event", { idempotencyKey: key(), meetingId, kind: "participant_joined", participant: "Bob", at: ts("09:01") });
  await h.call("meeting.event", {
    idempotencyKey: key(),
    meetingId,
    kind: "transcript",
    lines: [
      { speaker: "Alice", text: "Let's agree the launch date.", ts: ts("09:02") },
      { speaker: "Bob", text: "Action item: Carol to update the pricing page by Friday.", ts: ts("09:03") },
      { speaker: "Alice", text: "Sounds good. I will send the press release tomorrow at 10am.", ts: ts("09:04") },
      { speaker: "Bob", text: "todo: book the venue", ts: ts("09:05") },
    ],
  });
  return h.call("meeting.event", { idempotencyKey: endKey, meetingId, kind: "ended", at: ts("09:30") });
}

describe("meetings (offline)", () => {
  let h: Harness;
  beforeEach(async () => void (h = await startAgent({ timezone: "UTC", now: ts("09:00") })));
  afterEach(() => h.close());

  it("keeps the transcript in the workspace and turns action items into tasks when the meeting ends", async () => {
    const endKey = key("end");
    const out = await runMeeting(h, "mtg/123==", endKey);
    expect(out.tasksCreated).toBe(3);
    expect(out.message).toMatch(/^Meeting summary: "Launch plan" with Alice, Bob: 4 transcript lines\./);
    const t = await tasks(h);
    expect(t.map((x) => [x.title, x.owner, x.due_at, x.source])).toEqual([
      ["Send the press release", "Alice", "2026-11-19T10:00:00.000Z", "meeting:mtg/123=="],
      ["Update the pricing page", "Carol", "2026-11-20T09:00:00.000Z", "meeting:mtg/123=="],
      ["Book the venue", null, null, "meeting:mtg/123=="],
    ]);
    const file = await h.call("workspace.read", { path: "meetings/mtg_123__.md" });
    expect(file.content).toContain("# Launch plan");
    expect(file.content).toContain("_09:01 Bob joined_");
    expect(file.content).toContain("**Bob** (09:03): Action item: Carol to update the pricing page by Friday.");
    expect(file.content).toContain("## Summary");
    // A redelivered "ended" replays; even a new key does not create the tasks twice.
    expect(await h.call("meeting.event", { idempotencyKey: endKey, meetingId: "mtg/123==", kind: "ended" })).toEqual(out);
    expect((await h.call("meeting.event", { idempotencyKey: key(), meetingId: "mtg/123==", kind: "ended" })).tasksCreated).toBe(0);
    expect(await tasks(h)).toHaveLength(3);
  });

  it("extracts commitments from 'I will' and 'action item:' lines only", () => {
    const items = extractActionItems(
      [
        { speaker: "Dana", text: "I'll draft the contract by Monday." },
        { speaker: "Eve", text: "We should think about it." },
        { speaker: "Eve", text: "ACTION ITEM: renew the domain" },
      ],
      "UTC",
      new Date(ts("09:00")),
    );
    expect(items).toEqual([
      { task: "Draft the contract", owner: "Dana", due: "Monday" },
      { task: "Renew the domain", owner: undefined, due: undefined },
    ]);
  });
});

describe("meetings with an LLM", () => {
  it("summarises with one call and creates the action items the model extracted", async () => {
    const llm = await FakeOpenAI.start();
    const h = await startAgent({ llm, timezone: "UTC", now: ts("09:00") });
    try {
      llm.script({
        text: '```json\n{"summary": "Agreed to launch on 1 December.", "actionItems": [{"task": "Update pricing page", "owner": "Carol", "due": "friday"}, {"task": "Ship it", "owner": null, "due": "someday maybe"}]}\n```',
      });
      const out = await runMeeting(h, "m-1");
      expect(llm.calls).toBe(1);
      expect(out.message).toContain("Meeting summary: Agreed to launch on 1 December.");
      expect(out.tasksCreated).toBe(2);
      const t = await tasks(h);
      expect(t.map((x) => [x.title, x.owner, x.due_at])).toEqual([
        ["Update pricing page", "Carol", "2026-11-20T09:00:00.000Z"],
        ["Ship it", null, null],
      ]);
    } finally {
      h.close();
      await llm.close();
    }
  });
});

describe("phone calls", () => {
  it("greets, answers turns in speakable text, hangs up on goodbye, and summarises (offline)", async () => {
    const h = await startAgent({ userName: "Sam", now: ts("09:00") });
    try {
      expect(await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA1", phase: "start" })).toEqual({ reply: "Hi Sam, it's your assistant. How can I help?", hangUp: false });
      await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA1", phase: "turn", text: "add task call the bank" });
      await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA1", phase: "turn", text: "add task pay the bill" });
      const list = await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA1", phase: "turn", text: "what are my tasks" });
      expect(list.reply).toBe("Your open tasks: number 1 call the bank. number 2 pay the bill");
      expect(list.reply).not.toMatch(/\n/);
      expect(await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA1", phase: "turn", text: "ok bye" })).toEqual({ reply: "Okay, talk soon. Bye!", hangUp: true });
      const end = await h.call("call.turn", { trust: "full",
        idempotencyKey: key(),
        callSid: "CA1",
        phase: "end",
        transcript: [
          { role: "caller", text: "add task call the bank" },
          { role: "assistant", text: "Added task #1: call the bank." },
        ],
      });
      expect(end).toEqual({ reply: 'Call summary: you asked about "add task call the bank".', hangUp: true });
    } finally {
      h.close();
    }
  });

  it("runs call turns through the model on the voice channel with the spoken style", async () => {
    const llm = await FakeOpenAI.start();
    const h = await startAgent({ llm, now: ts("09:00") });
    try {
      llm.script({ text: "Sure, **done**.\n- one\n- two" }, { text: "You added a task and asked for your list." });
      const r = await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA2", phase: "turn", text: "add task call the bank" });
      expect(r.reply).toBe("Sure, done. one. two");
      expect(llm.requests[0]!.body.messages[0]!.content).toContain("This is a phone call");
      const end = await h.call("call.turn", { trust: "full", idempotencyKey: key(), callSid: "CA2", phase: "end", transcript: [{ role: "caller", text: "add task call the bank" }] });
      expect(end.reply).toBe("Call summary: You added a task and asked for your list.");
      expect(llm.calls).toBe(2);
    } finally {
      h.close();
      await llm.close();
    }
  });
});
