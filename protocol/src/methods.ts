import { z } from "./zod";

/** Every mutating method carries one: the agent stores (key, result) and replays it on a repeat. */
const IdempotencyKey = z.string().check(z.minLength(1), z.maxLength(200));

export const Channel = z.enum(["whatsapp", "voice", "zoom", "console", "system"]);
export type Channel = z.infer<typeof Channel>;

export const Attachment = z.object({
  kind: z.enum(["image", "audio", "video", "document", "location", "sticker", "other"]),
  /** An opaque reference the control plane can resolve (a media id), never a provider URL with a token. */
  ref: z.optional(z.string()),
  mimeType: z.optional(z.string()),
  caption: z.optional(z.string()),
  latitude: z.optional(z.number()),
  longitude: z.optional(z.number()),
  name: z.optional(z.string()),
});
export type Attachment = z.infer<typeof Attachment>;

const IsoTime = z.iso.datetime({ offset: true });

export const ChatSendParams = z.object({
  idempotencyKey: IdempotencyKey,
  channel: Channel,
  text: z.string().check(z.maxLength(64_000)),
  /** True when the text was transcribed from speech (a voice note or a call). */
  spoken: z.optional(z.boolean()),
  attachments: z.optional(z.array(Attachment)),
  /** When the user sent it; the agent's sense of "now" for this turn. */
  sentAt: z.optional(IsoTime),
  senderName: z.optional(z.string()),
});
export const ChatSendResult = z.object({
  reply: z.string(),
  /** LLM calls this turn made (0 for a replayed or offline turn). */
  llmCalls: z._default(z.int().check(z.nonnegative()), 0),
});

export const HeartbeatRunParams = z.object({
  idempotencyKey: IdempotencyKey,
  now: z.optional(IsoTime),
});
export const HeartbeatRunResult = z.object({
  send: z.boolean(),
  text: z.optional(z.string()),
  /** Which checklist items were due, for the operator's log. */
  due: z._default(z.array(z.string()), []),
  llmCalls: z._default(z.int().check(z.nonnegative()), 0),
  tokens: z._default(z.int().check(z.nonnegative()), 0),
  /** The next time something on the checklist could become due, if known. */
  nextDueAt: z.optional(z.nullable(IsoTime)),
});

export const FiredReminder = z.object({
  id: z.int(),
  text: z.string(),
  dueAt: IsoTime,
  urgent: z.boolean(),
});
export const AlarmFireParams = z.object({
  idempotencyKey: IdempotencyKey,
  now: z.optional(IsoTime),
});
export const AlarmFireResult = z.object({
  reminders: z.array(FiredReminder),
  nextAt: z.nullable(IsoTime),
});

/**
 * How far a phone caller is trusted (docs/voice-trust.md). "limited": the number was not attested
 * and no PIN or WhatsApp confirmation upgraded the call: the agent offers only tools that reveal
 * nothing (take a task, set a reminder) and no personal context. Absent means limited: fail closed.
 */
export const CallTrust = z.enum(["full", "limited"]);
export type CallTrust = z.infer<typeof CallTrust>;

export const CallTurnParams = z.object({
  idempotencyKey: IdempotencyKey,
  callSid: z.string(),
  phase: z.enum(["start", "turn", "end"]),
  text: z._default(z.string(), ""),
  /** With phase "end": the whole transcript, for the summary. */
  transcript: z.optional(z.array(z.object({ role: z.enum(["caller", "assistant"]), text: z.string() }))),
  trust: z._default(CallTrust, "limited"),
});
export const CallTurnResult = z.object({
  reply: z.string(),
  hangUp: z._default(z.boolean(), false),
});

export const TranscriptLine = z.object({
  speaker: z.string(),
  text: z.string(),
  ts: IsoTime,
});
export const MeetingEventParams = z.object({
  idempotencyKey: IdempotencyKey,
  meetingId: z.string(),
  kind: z.enum(["started", "ended", "participant_joined", "participant_left", "transcript"]),
  topic: z.optional(z.string()),
  participant: z.optional(z.string()),
  lines: z.optional(z.array(TranscriptLine)),
  at: z.optional(IsoTime),
});
export const MeetingEventResult = z.object({
  /** A message for the user (the summary after a meeting), or nothing. */
  message: z.optional(z.string()),
  tasksCreated: z._default(z.int().check(z.nonnegative()), 0),
});

export const ToolDefinition = z.object({
  name: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()),
});
/** tools.list and tool.call serve realtime calls: the caller's trust filters the tools. */
export const ToolsListParams = z.object({ trust: z._default(CallTrust, "limited") });
export const ToolsListResult = z.object({
  tools: z.array(ToolDefinition),
  /** The system prompt built from the workspace, for sessions run outside the agent (realtime voice). */
  instructions: z.string(),
});
export const ToolCallParams = z.object({
  idempotencyKey: IdempotencyKey,
  name: z.string(),
  arguments: z.string(),
  trust: z._default(CallTrust, "limited"),
});
export const ToolCallResult = z.object({ output: z.string() });

export const WorkspaceReadParams = z.object({ path: z.string().check(z.minLength(1), z.maxLength(256)) });
export const WorkspaceReadResult = z.object({ path: z.string(), content: z.string() });
export const WorkspaceWriteParams = z.object({ path: z.string().check(z.minLength(1), z.maxLength(256)), content: z.string().check(z.maxLength(1_000_000)) });
export const WorkspaceWriteResult = z.object({ path: z.string(), bytes: z.int() });
export const WorkspaceListParams = z.object({});
export const WorkspaceListResult = z.object({ files: z.array(z.object({ path: z.string(), bytes: z.int() })) });

export const DataExportParams = z.object({});
export const DataExportResult = z.object({
  exportedAt: IsoTime,
  tables: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
  workspace: z.record(z.string(), z.string()),
});

export const StatusParams = z.object({});
export const StatusResult = z.object({
  agentVersion: z.string(),
  protocolVersion: z.int(),
  uptimeSeconds: z.number(),
  rssBytes: z.number(),
  llmConfigured: z.boolean(),
  nextAlarmAt: z.nullable(IsoTime),
  timezone: z.string(),
});

/** The method table: one entry per method, params and result validated on both ends. */
export const Methods = {
  "chat.send": { params: ChatSendParams, result: ChatSendResult },
  "heartbeat.run": { params: HeartbeatRunParams, result: HeartbeatRunResult },
  "alarm.fire": { params: AlarmFireParams, result: AlarmFireResult },
  "call.turn": { params: CallTurnParams, result: CallTurnResult },
  "meeting.event": { params: MeetingEventParams, result: MeetingEventResult },
  "tools.list": { params: ToolsListParams, result: ToolsListResult },
  "tool.call": { params: ToolCallParams, result: ToolCallResult },
  "workspace.read": { params: WorkspaceReadParams, result: WorkspaceReadResult },
  "workspace.write": { params: WorkspaceWriteParams, result: WorkspaceWriteResult },
  "workspace.list": { params: WorkspaceListParams, result: WorkspaceListResult },
  "data.export": { params: DataExportParams, result: DataExportResult },
  status: { params: StatusParams, result: StatusResult },
} as const;

export type MethodName = keyof typeof Methods;
export type MethodParams<M extends MethodName> = z.input<(typeof Methods)[M]["params"]>;
export type MethodResult<M extends MethodName> = z.output<(typeof Methods)[M]["result"]>;

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(Methods, name);
}
