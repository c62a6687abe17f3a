import { z } from "zod";
import { PermanentEventError, type InboxHandler } from "../../inbox/dispatcher";
import type { AgentPort } from "../../agent-port";
import { splitOutbound } from "../whatsapp/split-message";

const MeetingPayload = z.object({
  meetingId: z.string().min(1),
  kind: z.enum(["started", "ended", "participant_joined", "participant_left", "transcript"]),
  topic: z.string().optional(),
  participant: z.string().optional(),
  lines: z.array(z.object({ speaker: z.string(), text: z.string(), ts: z.string() })).optional(),
  at: z.string().optional(),
});

/**
 * The dispatcher's handler for kind "meeting": one meeting.event to the host's agent, with the
 * inbox row's provider id as idempotency key. When the agent has something to say (the summary
 * after "ended", with its action items already added as tasks), it goes to WhatsApp as a
 * proactive message, so the outbox's 24-hour window rules apply.
 */
export function meetingHandler(deps: { agent: Pick<AgentPort, "call"> }): InboxHandler {
  return async (event, { signal, log }) => {
    const parsed = MeetingPayload.safeParse(event.payload);
    // Retrying cannot fix a malformed row: dead-letter it at once.
    if (!parsed.success) throw new PermanentEventError(`meeting event ${event.id} has a malformed payload`);
    const p = parsed.data;
    const result = await deps.agent.call(
      event.userId,
      "meeting.event",
      {
        idempotencyKey: event.providerId,
        meetingId: p.meetingId,
        kind: p.kind,
        ...(p.topic ? { topic: p.topic } : {}),
        ...(p.participant ? { participant: p.participant } : {}),
        ...(p.lines ? { lines: p.lines } : {}),
        ...(p.at ? { at: p.at } : {}),
      },
      { signal },
    );
    const message = result.message?.trim();
    if (p.kind === "ended") log.info({ userId: event.userId, tasksCreated: result.tasksCreated, summary: !!message }, "meeting summarised");
    if (!message) return [];
    // A long meeting's summary can pass WhatsApp's 4096 characters: ordered parts, one row each.
    return splitOutbound([{ userId: event.userId, channel: "whatsapp", kind: "text", body: message, proactive: true, inboxId: event.id, meta: { meetingId: p.meetingId, reason: "meeting_summary" } }]);
  };
}
