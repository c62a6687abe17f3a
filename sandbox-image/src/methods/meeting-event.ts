import { handleMeetingEvent } from "../meetings/meeting-notes";
import type { MethodHandler } from "./method-handler";

/** meeting.event: transcript lines into the workspace; the summary and action items when it ends (meetings/). */
export const meetingEvent: MethodHandler<"meeting.event"> = (ctx, p) =>
  ctx.turns.run("meeting.event", p.idempotencyKey, undefined, async () => {
    const out = await handleMeetingEvent({ workspace: ctx.workspace, brain: ctx.brains.brain, toolContext: ctx.toolContext, log: ctx.log.child({ component: "meeting" }) }, p);
    return { ...(out.message ? { message: out.message } : {}), tasksCreated: out.tasksCreated };
  });
