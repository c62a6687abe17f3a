import { z } from "./zod";

/** The agent's next due reminder (null: none). The control plane wakes it then, even from stopped. */
export const AlarmSetEvent = z.object({ at: z.nullable(z.iso.datetime({ offset: true })) });

export const LogEvent = z.object({
  level: z.enum(["debug", "info", "warn", "error"]),
  msg: z.string(),
  data: z.optional(z.record(z.string(), z.unknown())),
});

/** The user's profile changed through the agent's profile tool; the control plane mirrors it. */
export const ProfileUpdatedEvent = z.object({
  name: z.optional(z.string()),
  timezone: z.optional(z.string()),
  activeHours: z.optional(z.object({ start: z.string().check(z.regex(/^\d{2}:\d{2}$/)), end: z.string().check(z.regex(/^\d{2}:\d{2}$/)) })),
  /** Informational only: no routing (Zoom or other) ever follows what an agent reports. */
  email: z.optional(z.string()),
});

/** A streamed piece of a reply in progress, for channels that can show it. */
export const ChatDeltaEvent = z.object({ requestId: z.string(), text: z.string() });

export const Events = {
  "alarm.set": AlarmSetEvent,
  log: LogEvent,
  "profile.updated": ProfileUpdatedEvent,
  "chat.delta": ChatDeltaEvent,
} as const;
export type EventName = keyof typeof Events;
export type EventPayload<E extends EventName> = z.infer<(typeof Events)[E]>;
