import { z } from "zod/v4";

/** Every mutating method carries one: the agent stores (key, result) and replays it on a repeat. */
const IdempotencyKey = z.string().min(1).max(200);

export const Channel = z.enum(["whatsapp", "voice", "zoom", "console", "system"]);
export type Channel = z.infer<typeof Channel>;

export const Attachment = z.object({
  kind: z.enum(["image", "audio", "video", "document", "location", "sticker", "other"]),
  /** An opaque reference the control plane can resolve (a media id), never a provider URL with a token. */
  ref: z.string().optional(),
  mimeType: z.string().optional(),
  caption: z.string().optional(),
  latitude: z.number().optional(),
  longitude: z.number().optional(),
  name: z.string().optional(),
});
export type Attachment = z.infer<typeof Attachment>;

const IsoTime = z.string().datetime({ offset: true });

export const ChatSendParams = z.object({
  idempotencyKey: IdempotencyKey,
  channel: Channel,
  text: z.string().max(64_000),
  /** True when the text was transcribed from speech (a voice note or a call). */
  spoken: z.boolean().optional(),
  attachments: z.array(Attachment).optional(),
  /** When the user sent it; the agent's sense of "now" for this turn. */
  sentAt: IsoTime.optional(),
  senderName: z.string().optional(),
});
export const ChatSendResult = z.object({
  reply: z.string(),
  /** LLM calls this turn made (0 for a replayed or offline turn). */
  llmCalls: z.number().int().nonnegative().default(0),
});

export const HeartbeatRunParams = z.object({
  idempotencyKey: IdempotencyKey,
  now: IsoTime.optional(),
});
export const HeartbeatRunResult = z.object({
  send: z.boolean(),
  text: z.string().optional(),
  /** Which checklist items were due, for the operator's log. */
  due: z.array(z.string()).default([]),
  llmCalls: z.number().int().nonnegative().default(0),
  tokens: z.number().int().nonnegative().default(0),
  /** The next time something on the checklist could become due, if known. */
  nextDueAt: IsoTime.nullable().optional(),
});

export const FiredReminder = z.object({
  id: z.number().int(),
  text: z.string(),
  dueAt: IsoTime,
  urgent: z.boolean(),
});
export const AlarmFireParams = z.object({
  idempotencyKey: IdempotencyKey,
  now: IsoTime.optional(),
});
export const AlarmFireResult = z.object({
  reminders: z.array(FiredReminder),
  nextAt: IsoTime.nullable(),
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
  text: z.string().default(""),
  /** With phase "end": the whole transcript, for the summary. */
  transcript: z.array(z.object({ role: z.enum(["caller", "assistant"]), text: z.string() })).optional(),
  trust: CallTrust.default("limited"),
});
export const CallTurnResult = z.object({
  reply: z.string(),
  hangUp: z.boolean().default(false),
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
  topic: z.string().optional(),
  participant: z.string().optional(),
  lines: z.array(TranscriptLine).optional(),
  at: IsoTime.optional(),
});
export const MeetingEventResult = z.object({
  /** A message for the user (the summary after a meeting), or nothing. */
  message: z.string().optional(),
  tasksCreated: z.number().int().nonnegative().default(0),
});

export const ToolDefinition = z.object({
  name: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()),
});
/** tools.list and tool.call serve realtime calls: the caller's trust filters the tools. */
export const ToolsListParams = z.object({ trust: CallTrust.default("limited") });
export const ToolsListResult = z.object({
  tools: z.array(ToolDefinition),
  /** The system prompt built from the workspace, for sessions run outside the agent (realtime voice). */
  instructions: z.string(),
});
export const ToolCallParams = z.object({
  idempotencyKey: IdempotencyKey,
  name: z.string(),
  arguments: z.string(),
  trust: CallTrust.default("limited"),
});
export const ToolCallResult = z.object({ output: z.string() });

export const WorkspaceReadParams = z.object({ path: z.string().min(1).max(256) });
export const WorkspaceReadResult = z.object({ path: z.string(), content: z.string() });
export const WorkspaceWriteParams = z.object({ path: z.string().min(1).max(256), content: z.string().max(1_000_000) });
export const WorkspaceWriteResult = z.object({ path: z.string(), bytes: z.number().int() });
export const WorkspaceListParams = z.object({});
export const WorkspaceListResult = z.object({ files: z.array(z.object({ path: z.string(), bytes: z.number().int() })) });

export const DataExportParams = z.object({});
export const DataExportResult = z.object({
  exportedAt: IsoTime,
  tables: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
  workspace: z.record(z.string(), z.string()),
});

export const StatusParams = z.object({});
export const StatusResult = z.object({
  agentVersion: z.string(),
  protocolVersion: z.number().int(),
  uptimeSeconds: z.number(),
  rssBytes: z.number(),
  llmConfigured: z.boolean(),
  nextAlarmAt: IsoTime.nullable(),
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
