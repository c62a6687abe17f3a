import { z } from "zod/v4";

/** The agent's next due reminder (null: none). The control plane wakes it then, even from stopped. */
export const AlarmSetEvent = z.object({ at: z.string().datetime({ offset: true }).nullable() });

export const LogEvent = z.object({
  level: z.enum(["debug", "info", "warn", "error"]),
  msg: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** The user's profile changed through the agent's profile tool; the control plane mirrors it. */
export const ProfileUpdatedEvent = z.object({
  name: z.string().optional(),
  timezone: z.string().optional(),
  activeHours: z.object({ start: z.string().regex(/^\d{2}:\d{2}$/), end: z.string().regex(/^\d{2}:\d{2}$/) }).optional(),
  /** Informational only: no routing (Zoom or other) ever follows what an agent reports. */
  email: z.string().optional(),
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
