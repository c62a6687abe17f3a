import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { CallTrust, EventName, EventPayload } from "@concierge/protocol";
import type { Logger } from "pino";
import { nextAlarmAt } from "./alarms/reminder-store";
import { createBrains, type Brains } from "./brain/brains";
import { ConversationHistory } from "./brain/conversation-history";
import type { LlmOptions } from "./brain/llm-options";
import { toolsForTrust } from "./calls/call-trust";
import { IdempotencyStore } from "./db/idempotency-store";
import { openDatabase, openReadonly, type Db } from "./db/open-database";
import { getProfile, updateProfile } from "./db/profile-store";
import { ToolRegistry } from "./tools/registry";
import type { ToolContext } from "./tools/tool";
import { TurnRunner } from "./turn-runner";
import { buildPromptParts, joinPrompt, type PromptStyle } from "./workspace/system-prompt";
import { Workspace } from "./workspace/workspace";

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

/** What every method handler (methods/) works with: built once when the agent starts. */
export interface AgentContext {
  db: Db;
  /** Separate read-only connection (the SQL tool, the export). */
  readonlyDb: Db;
  workspace: Workspace;
  log: Logger;
  /** The wall clock, for records about the agent itself (idempotency keys, the export's time). */
  clock(): Date;
  /** The time the running turn happens at (TurnRunner.now). */
  now(): Date;
  timezone(): string;
  /** Never throws: a lost event is logged, the method goes on. */
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
  /** Announces the next due reminder (alarm.set). */
  remindersChanged(): void;
  toolContext: ToolContext;
  toolsFor(trust: CallTrust): ToolRegistry;
  systemPrompt(style: PromptStyle): string;
  brains: Brains;
  heartbeatModel?: string;
  turns: TurnRunner;
  /** Date.now() at start, for status.uptimeSeconds. */
  startedAt: number;
}

/** Memory facts injected into every prompt, newest first. */
const PROMPT_FACTS = 100;

/** Opens the database and the workspace (seeding them on first boot) and builds everything around them. */
export function createAgentContext(opts: AgentOptions): AgentContext {
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

  const turns = new TurnRunner(db, idempotency, clock, log);
  const now = () => turns.now();
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
  const byTrust: Record<CallTrust, ToolRegistry> = { full: tools, limited: toolsForTrust(tools, "limited") };
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
  return {
    db,
    readonlyDb,
    workspace,
    log,
    clock,
    now,
    timezone,
    emit,
    remindersChanged,
    toolContext,
    toolsFor: (trust) => byTrust[trust],
    systemPrompt: (style) => joinPrompt(promptParts(style)),
    brains: createBrains({ llm: opts.llm, db, tools, limitedTools: byTrust.limited, toolContext, history, systemPrompt: promptParts, log }),
    heartbeatModel: opts.llm?.heartbeatModel,
    turns,
    startedAt,
  };
}
