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

export const FiredReminder = z.object({
  id: z.int(),
  text: z.string(),
  dueAt: IsoTime,
  urgent: z.boolean(),
});

/**
 * How far a phone caller is trusted (docs/voice-trust.md). "limited": the number was not attested
 * and no PIN or WhatsApp confirmation upgraded the call: the agent offers only tools that reveal
 * nothing (take a task, set a reminder) and no personal context. Absent means limited: fail closed.
 */
export const CallTrust = z.enum(["full", "limited"]);
export type CallTrust = z.infer<typeof CallTrust>;

export const TranscriptLine = z.object({
  speaker: z.string(),
  text: z.string(),
  ts: IsoTime,
});

export const ToolDefinition = z.object({
  name: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()),
});

/**
 * The method table: one entry per method, params and result validated on both ends. Each method's
 * schemas are built the first time the method is looked up (Methods[name]), not at import: zod
 * builds a tree of closures per schema, and an agent that is only asked for its status (most of
 * them, most of the time) never needs the other eleven (docs/sandbox-speed.md). A lookup after the
 * first reads a plain property.
 */
export const Methods = lazyTable({
  "chat.send": () => ({
    params: z.object({
      idempotencyKey: IdempotencyKey,
      channel: Channel,
      text: z.string().check(z.maxLength(64_000)),
      /** True when the text was transcribed from speech (a voice note or a call). */
      spoken: z.optional(z.boolean()),
      attachments: z.optional(z.array(Attachment)),
      /** When the user sent it; the agent's sense of "now" for this turn. */
      sentAt: z.optional(IsoTime),
      senderName: z.optional(z.string()),
    }),
    result: z.object({
      reply: z.string(),
      /** LLM calls this turn made (0 for a replayed or offline turn). */
      llmCalls: z._default(z.int().check(z.nonnegative()), 0),
    }),
  }),
  "heartbeat.run": () => ({
    params: z.object({
      idempotencyKey: IdempotencyKey,
      now: z.optional(IsoTime),
    }),
    result: z.object({
      send: z.boolean(),
      text: z.optional(z.string()),
      /** Which checklist items were due, for the operator's log. */
      due: z._default(z.array(z.string()), []),
      llmCalls: z._default(z.int().check(z.nonnegative()), 0),
      tokens: z._default(z.int().check(z.nonnegative()), 0),
      /** The next time something on the checklist could become due, if known. */
      nextDueAt: z.optional(z.nullable(IsoTime)),
    }),
  }),
  "alarm.fire": () => ({
    params: z.object({
      idempotencyKey: IdempotencyKey,
      now: z.optional(IsoTime),
    }),
    result: z.object({
      reminders: z.array(FiredReminder),
      nextAt: z.nullable(IsoTime),
    }),
  }),
  "call.turn": () => ({
    params: z.object({
      idempotencyKey: IdempotencyKey,
      callSid: z.string(),
      phase: z.enum(["start", "turn", "end"]),
      text: z._default(z.string(), ""),
      /** With phase "end": the whole transcript, for the summary. */
      transcript: z.optional(z.array(z.object({ role: z.enum(["caller", "assistant"]), text: z.string() }))),
      trust: z._default(CallTrust, "limited"),
    }),
    result: z.object({
      reply: z.string(),
      hangUp: z._default(z.boolean(), false),
    }),
  }),
  "meeting.event": () => ({
    params: z.object({
      idempotencyKey: IdempotencyKey,
      meetingId: z.string(),
      kind: z.enum(["started", "ended", "participant_joined", "participant_left", "transcript"]),
      topic: z.optional(z.string()),
      participant: z.optional(z.string()),
      lines: z.optional(z.array(TranscriptLine)),
      at: z.optional(IsoTime),
    }),
    result: z.object({
      /** A message for the user (the summary after a meeting), or nothing. */
      message: z.optional(z.string()),
      tasksCreated: z._default(z.int().check(z.nonnegative()), 0),
    }),
  }),
  // tools.list and tool.call serve realtime calls: the caller's trust filters the tools.
  "tools.list": () => ({
    params: z.object({ trust: z._default(CallTrust, "limited") }),
    result: z.object({
      tools: z.array(ToolDefinition),
      /** The system prompt built from the workspace, for sessions run outside the agent (realtime voice). */
      instructions: z.string(),
    }),
  }),
  "tool.call": () => ({
    params: z.object({
      idempotencyKey: IdempotencyKey,
      name: z.string(),
      arguments: z.string(),
      trust: z._default(CallTrust, "limited"),
    }),
    result: z.object({ output: z.string() }),
  }),
  "workspace.read": () => ({
    params: z.object({ path: z.string().check(z.minLength(1), z.maxLength(256)) }),
    result: z.object({ path: z.string(), content: z.string() }),
  }),
  "workspace.write": () => ({
    params: z.object({ path: z.string().check(z.minLength(1), z.maxLength(256)), content: z.string().check(z.maxLength(1_000_000)) }),
    result: z.object({ path: z.string(), bytes: z.int() }),
  }),
  "workspace.list": () => ({
    params: z.object({}),
    result: z.object({ files: z.array(z.object({ path: z.string(), bytes: z.int() })) }),
  }),
  "data.export": () => ({
    params: z.object({}),
    result: z.object({
      exportedAt: IsoTime,
      tables: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
      workspace: z.record(z.string(), z.string()),
    }),
  }),
  status: () => ({
    params: z.object({}),
    result: z.object({
      agentVersion: z.string(),
      protocolVersion: z.int(),
      uptimeSeconds: z.number(),
      rssBytes: z.number(),
      llmConfigured: z.boolean(),
      nextAlarmAt: z.nullable(IsoTime),
      timezone: z.string(),
    }),
  }),
});

/** A table of builders as an object whose properties build once, on first read, then stay. */
function lazyTable<T extends Record<string, () => { params: z.ZodMiniType; result: z.ZodMiniType }>>(builders: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const table = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const name of Object.keys(builders) as (keyof T)[]) {
    Object.defineProperty(table, name, {
      enumerable: true,
      configurable: true,
      get() {
        const built = builders[name]!() as ReturnType<T[typeof name]>;
        Object.defineProperty(table, name, { value: built, enumerable: true, writable: false, configurable: false });
        return built;
      },
    });
  }
  return table;
}

export type MethodName = keyof typeof Methods;
export type MethodParams<M extends MethodName> = z.input<(typeof Methods)[M]["params"]>;
export type MethodResult<M extends MethodName> = z.output<(typeof Methods)[M]["result"]>;
/** A method's params as the receiving end has them after parsing (defaults applied). */
export type MethodParamsParsed<M extends MethodName> = z.output<(typeof Methods)[M]["params"]>;

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(Methods, name);
}
