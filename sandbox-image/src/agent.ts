import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { Methods, PROTOCOL_VERSION, type EventName, type EventPayload, type MethodName, type MethodResult } from "@concierge/protocol";
import { AgentError } from "./agent-error";
import { isProviderUnavailable } from "./brain/provider-errors";
import { fireDueReminders, nextAlarmAt } from "./alarms/reminder-store";
import { ConversationHistory } from "./brain/conversation-history";
import type { BrainOptions, LlmBrain } from "./brain/llm-brain";
import { OfflineBrain } from "./brain/offline-brain";
import { LIMITED_VOICE_PROMPT, LimitedCallHistories, toolsForTrust } from "./calls/call-trust";
import { handleCallTurn, type CallBrains } from "./calls/call-turn";
import { IdempotencyStore } from "./db/idempotency-store";
import { listTables, openDatabase, openReadonly } from "./db/open-database";
import { getProfile, updateProfile } from "./db/profile-store";
import { runHeartbeat } from "./heartbeat/heartbeat";
import { handleMeetingEvent } from "./meetings/meeting-notes";
import { Mutex } from "./mutex";
import { ToolRegistry } from "./tools/registry";
import { ToolError, type ToolContext } from "./tools/tool";
import { AGENT_VERSION } from "./version";
import { buildPromptParts, joinPrompt, nowPart, type PromptStyle } from "./workspace/system-prompt";
import { Workspace } from "./workspace/workspace";
import { describeAttachments } from "./brain/attachments";

export { AgentError } from "./agent-error";

export interface LlmOptions {
  /** The control plane's OpenAI-compatible gateway. */
  baseURL: string;
  /** The sandbox token: the gateway authenticates and meters by it. No provider key ever gets here. */
  apiKey: string;
  model: string;
  heartbeatModel?: string;
  timeoutMs?: number;
}

export interface AgentOptions {
  /** SQLite file at `${dataDir}/agent.db` (WAL); workspace at `${dataDir}/workspace`. */
  dataDir: string;
  /** workspace-templates/, copied into the workspace on first boot and never overwritten after. */
  templatesDir: string;
  /** Default user timezone (IANA) until the profile tool sets one. */
  timezone: string;
  userName?: string;
  llm?: LlmOptions;
  now?: () => Date;
  logger: Logger;
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
}

export interface Agent {
  /**
   * params are already validated by the gateway against Methods[method].params; returns the result
   * object. Throws AgentError with a protocol ErrorCode for expected failures.
   */
  handle(method: MethodName, params: unknown): Promise<unknown>;
  close(): void;
}

/** Memory facts injected into every prompt, newest first. */
const PROMPT_FACTS = 100;

export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const log = opts.logger.child({ component: "agent" });
  const clock = opts.now ?? (() => new Date());
  const startedAt = Date.now();
  mkdirSync(opts.dataDir, { recursive: true });
  const dbFile = join(opts.dataDir, "agent.db");
  const db = openDatabase(dbFile);
  const readonlyDb = openReadonly(dbFile);
  const workspace = new Workspace(join(opts.dataDir, "workspace"));
  // Seeding is one existsSync when the workspace was seeded before; only a workspace that could not be
  // seeded (no templates) is walked, to warn.
  if (workspace.initFrom(opts.templatesDir)) log.info("workspace created from templates");
  else if (!workspace.initialized() && workspace.list().length === 0) log.warn({ templatesDir: opts.templatesDir }, "workspace is empty and no templates were found");
  if (opts.userName && !getProfile(db).name) updateProfile(db, { name: opts.userName }, clock());
  const idempotency = new IdempotencyStore(db);
  idempotency.prune(clock());

  // The time a turn runs "at": a request may carry its own (sentAt, now) so queued work is judged
  // by when it happened, not by when the sandbox woke up.
  let turnNow: Date | null = null;
  const now = () => turnNow ?? clock();
  const timezone = () => getProfile(db).timezone ?? opts.timezone;

  const emit = <E extends EventName>(event: E, payload: EventPayload<E>) => {
    try {
      opts.emit(event, payload);
    } catch (err) {
      log.warn({ err, event }, "could not emit event");
    }
  };
  const remindersChanged = () => emit("alarm.set", { at: nextAlarmAt(db) });

  const toolContext: ToolContext = {
    db,
    readonlyDb,
    now,
    timezone,
    currency: () => getProfile(db).currency,
    log: log.child({ component: "tools" }),
    emit,
    remindersChanged,
  };
  const tools = new ToolRegistry();
  const history = new ConversationHistory(db);
  const promptParts = (style: PromptStyle) =>
    buildPromptParts({
      workspace,
      profile: getProfile(db),
      timezone: timezone(),
      now: now(),
      facts: (db.prepare("SELECT fact FROM memory_facts ORDER BY id DESC LIMIT ?").all(PROMPT_FACTS) as { fact: string }[]).map((f) => f.fact),
      summary: history.summary()?.summary,
      style,
    });
  const systemPrompt = (style: PromptStyle) => joinPrompt(promptParts(style));
  // The model client (and the openai package behind it) is loaded only when a model is configured:
  // an offline agent never pays for it at start.
  const makeBrain = opts.llm ? modelBrains(opts.llm, log) : null;
  const brain = makeBrain ? makeBrain({ tools, toolContext, history, systemPrompt: promptParts, log: log.child({ component: "brain" }) }) : null;
  const offline = new OfflineBrain(tools, toolContext);
  // A caller the control plane could not verify gets its own brain: the limited tools, a prompt
  // with nothing of the user in it, and a history of that call alone.
  const limitedTools = toolsForTrust(tools, "limited");
  const limitedHistories = new LimitedCallHistories(db);
  const limitedOffline = new OfflineBrain(limitedTools, toolContext);
  const limitedCall = (callSid: string): CallBrains => {
    const history = limitedHistories.for(callSid);
    const limitedBrain = makeBrain
      ? makeBrain({ tools: limitedTools, toolContext, history, systemPrompt: () => ({ stable: LIMITED_VOICE_PROMPT, now: nowPart(now(), timezone()) }), log: log.child({ component: "brain", trust: "limited" }) })
      : null;
    return { brain: limitedBrain, offline: limitedOffline, history };
  };
  const mutex = new Mutex();

  /**
   * Runs a mutating method one at a time, in one SQLite transaction with its idempotency record, so
   * a crash leaves either the effects and the key, or neither. A repeated key returns the stored
   * result without running anything (and without calling the model).
   */
  async function exclusive<T>(method: MethodName, key: string | undefined, at: string | undefined, fn: () => Promise<T>): Promise<T> {
    const replay = (): T | undefined => {
      if (!key) return undefined;
      const stored = idempotency.get(key);
      if (!stored) return undefined;
      if (stored.method !== method) throw new AgentError("bad_request", `idempotency key was already used for ${stored.method}`);
      log.debug({ method }, "replaying stored result for a repeated idempotency key");
      return stored.result as T;
    };
    const early = replay();
    if (early !== undefined) return early;
    return mutex.run(async () => {
      const again = replay();
      if (again !== undefined) return again;
      turnNow = at ? new Date(at) : null;
      db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn();
        if (key) idempotency.put(key, method, result, clock());
        db.exec("COMMIT");
        return result;
      } catch (err) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw err;
      } finally {
        turnNow = null;
      }
    });
  }

  const handlers: { [M in MethodName]: (p: any) => Promise<MethodResult<M>> } = {
    "chat.send": (p) =>
      exclusive("chat.send", p.idempotencyKey, p.sentAt, async () => {
        const text = [p.text, describeAttachments(p.attachments)].filter(Boolean).join("\n");
        if (brain) {
          const onDelta = p.channel === "console" ? (t: string) => emit("chat.delta", { requestId: p.idempotencyKey, text: t }) : undefined;
          const out = await brain.turn({ channel: p.channel, text, style: p.channel === "voice" ? "voice" : "chat", now: now(), onDelta });
          // Thrown, not answered: the transaction rolls back (no idempotency record, no history), and
          // the control plane's dispatcher retries the turn once the provider is back.
          if (isProviderUnavailable(out.failure)) throw new AgentError("busy", `the LLM provider is unavailable (${out.failure})`, true);
          // A spent budget refuses the first call, before any tool ran: the offline layer still does
          // what it can (a reminder, an expense), after saying why the answer is simple.
          if (out.failure === "budget_exhausted" && out.llmCalls <= 1 && p.text.trim()) {
            const reply = `${out.reply}\n\n${offline.reply(p.text)}`;
            history.append(p.channel, "assistant", reply, now());
            return { reply, llmCalls: out.llmCalls };
          }
          return { reply: out.reply, llmCalls: out.llmCalls };
        }
        history.append(p.channel, "user", text, now());
        const reply = p.text.trim()
          ? offline.reply(p.text)
          : "I got your attachment, but without a language model connected I can't look at it. Tell me in words what you need.";
        history.append(p.channel, "assistant", reply, now());
        return { reply, llmCalls: 0 };
      }),

    "heartbeat.run": (p) =>
      exclusive("heartbeat.run", p.idempotencyKey, p.now, async () =>
        runHeartbeat(
          {
            db,
            workspace,
            log: log.child({ component: "heartbeat" }),
            brain,
            heartbeatModel: opts.llm?.heartbeatModel,
            timezone,
            systemPrompt: () => systemPrompt("heartbeat"),
            remindersChanged,
          },
          now(),
        ),
      ),

    "alarm.fire": (p) =>
      exclusive("alarm.fire", p.idempotencyKey, p.now, async () => {
        const reminders = fireDueReminders(db, now());
        const nextAt = nextAlarmAt(db);
        emit("alarm.set", { at: nextAt });
        return { reminders, nextAt };
      }),

    "call.turn": (p) =>
      exclusive("call.turn", p.idempotencyKey, undefined, async () => {
        const out = await handleCallTurn(
          { brain, offline, history, limited: limitedCall, log: log.child({ component: "call" }), userName: () => getProfile(db).name, voicePrompt: () => systemPrompt("voice") },
          p,
          now(),
        );
        return { reply: out.reply, hangUp: out.hangUp };
      }),

    "meeting.event": (p) =>
      exclusive("meeting.event", p.idempotencyKey, undefined, async () => {
        const out = await handleMeetingEvent({ workspace, brain, toolContext, log: log.child({ component: "meeting" }) }, p);
        return { ...(out.message ? { message: out.message } : {}), tasksCreated: out.tasksCreated };
      }),

    "tools.list": async (p) =>
      p.trust === "full" ? { tools: tools.definitions(), instructions: systemPrompt("voice") } : { tools: limitedTools.definitions(), instructions: LIMITED_VOICE_PROMPT },

    "tool.call": (p) =>
      exclusive("tool.call", p.idempotencyKey, undefined, async () => {
        const allowed = toolsForTrust(tools, p.trust);
        if (!allowed.has(p.name)) throw new AgentError("not_found", `no tool named ${p.name}`);
        try {
          return { output: allowed.runJson(toolContext, p.name, p.arguments) };
        } catch (err) {
          // Realtime voice hands this output straight to its model: a readable error lets it recover.
          if (err instanceof ToolError) return { output: JSON.stringify({ error: err.message }) };
          throw err;
        }
      }),

    "workspace.read": async (p) => workspace.read(p.path),
    "workspace.write": (p) => exclusive("workspace.write", undefined, undefined, async () => workspace.write(p.path, p.content)),
    "workspace.list": async () => ({ files: workspace.list() }),

    "data.export": async () => {
      const tables: Record<string, Record<string, unknown>[]> = {};
      // Table names come from sqlite_master itself, quoted as identifiers; nothing user-supplied.
      for (const name of listTables(readonlyDb)) tables[name] = readonlyDb.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Record<string, unknown>[];
      return { exportedAt: clock().toISOString(), tables, workspace: workspace.readAll() };
    },

    status: async () => ({
      agentVersion: AGENT_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      rssBytes: process.memoryUsage().rss,
      llmConfigured: brain !== null,
      nextAlarmAt: nextAlarmAt(db),
      timezone: timezone(),
    }),
  };

  let closed = false;
  log.info({ llm: brain ? "configured" : "offline", timezone: timezone() }, "agent ready");
  // Tell the control plane the next alarm as soon as it listens (the gateway may drop this if no
  // one is connected; status.nextAlarmAt carries the same).
  remindersChanged();

  return {
    async handle(method: MethodName, params: unknown): Promise<unknown> {
      if (closed) throw new AgentError("busy", "agent is shutting down", true);
      const spec = Methods[method];
      if (!spec) throw new AgentError("method_not_found", `unknown method ${String(method)}`);
      // Parsed again here for defaults and types; the gateway's check is the one that answers the peer.
      const parsed = spec.params.safeParse(params ?? {});
      if (!parsed.success) throw new AgentError("bad_request", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      try {
        return await handlers[method](parsed.data);
      } catch (err) {
        if (err instanceof AgentError) throw err;
        if (err instanceof ToolError) throw new AgentError(err.kind, err.message);
        log.error({ err, method }, "method failed");
        throw new AgentError("internal", "internal error", true);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      readonlyDb.close();
      db.close();
      log.info("agent closed");
    },
  };
}

/** One model client for the agent, and a maker of brains on it (the full one, a limited call's). */
function modelBrains(llm: LlmOptions, log: Logger): (o: Omit<BrainOptions, "llm">) => LlmBrain {
  const { LlmBrain } = require("./brain/llm-brain") as typeof import("./brain/llm-brain");
  const { LlmClient } = require("./brain/llm-client") as typeof import("./brain/llm-client");
  const client = new LlmClient(llm, log.child({ component: "llm" }));
  return (o) => new LlmBrain({ llm: client, ...o });
}
