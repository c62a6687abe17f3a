import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import type { EventName, EventPayload, MethodName, MethodParams, MethodResult } from "@concierge/protocol";
import { createAgent, type Agent } from "../src/agent";
import type { FakeOpenAI } from "../../test-support/fake-openai";

export const TEMPLATES = resolve(__dirname, "../../workspace-templates");

export interface Harness {
  agent: Agent;
  dataDir: string;
  events: { event: EventName; payload: unknown }[];
  logs: { level: number; msg: string; [k: string]: unknown }[];
  setNow(iso: string): void;
  call<M extends MethodName>(method: M, params: MethodParams<M>): Promise<MethodResult<M>>;
  /** Closes the agent and opens a new one on the same data directory (a container restart). */
  restart(): Promise<void>;
  close(): void;
}

/** A fresh directory under the OS's temp dir for `fn`, removed afterwards whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let seq = 0;
export function key(prefix = "k"): string {
  return `${prefix}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A real agent on a real SQLite file in a temp dir, with a settable clock and captured events/logs. */
export async function startAgent(o: { timezone?: string; now?: string; llm?: FakeOpenAI; timeoutMs?: number; templatesDir?: string; dataDir?: string; userName?: string } = {}): Promise<Harness> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), "agent-test-"));
  let now = new Date(o.now ?? "2026-11-21T10:00:00Z");
  const events: Harness["events"] = [];
  const logs: Harness["logs"] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logs.push(JSON.parse(line));
      cb();
    },
  });
  const logger = pino({ level: "debug" }, stream);
  const make = () =>
    createAgent({
      dataDir,
      templatesDir: o.templatesDir ?? TEMPLATES,
      timezone: o.timezone ?? "UTC",
      userName: o.userName,
      now: () => now,
      logger,
      llm: o.llm ? { baseURL: o.llm.baseURL, apiKey: "sandbox-token-123", model: "test-model", heartbeatModel: "cheap-model", timeoutMs: o.timeoutMs } : undefined,
      emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void events.push({ event, payload }),
    });
  const h: Harness = {
    agent: await make(),
    dataDir,
    events,
    logs,
    setNow: (iso) => void (now = new Date(iso)),
    call: (method, params) => h.agent.handle(method, params) as never,
    async restart() {
      h.agent.close();
      h.agent = await make();
    },
    close() {
      h.agent.close();
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

export async function say(h: Harness, text: string, channel: "whatsapp" | "voice" | "console" = "whatsapp"): Promise<string> {
  const r = await h.call("chat.send", { idempotencyKey: key("chat"), channel, text });
  return r.reply;
}

/** Says each line in turn and checks its reply exactly; a mismatch names the line that was said. */
export async function expectReplies(h: Harness, turns: [said: string, reply: string][]): Promise<void> {
  for (const [said, reply] of turns) expect({ said, reply: await say(h, said) }).toEqual({ said, reply });
}

export function alarmEvents(h: Harness): (string | null)[] {
  return h.events.filter((e) => e.event === "alarm.set").map((e) => (e.payload as { at: string | null }).at);
}
