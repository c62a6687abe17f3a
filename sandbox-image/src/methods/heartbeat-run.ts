import { runHeartbeat } from "../heartbeat/heartbeat";
import type { MethodHandler } from "./method-handler";

/** heartbeat.run: the proactive checklist (heartbeat/). */
export const heartbeatRun: MethodHandler<"heartbeat.run"> = (ctx, p) =>
  ctx.turns.run("heartbeat.run", p.idempotencyKey, p.now, async () =>
    runHeartbeat(
      {
        db: ctx.db,
        workspace: ctx.workspace,
        log: ctx.log.child({ component: "heartbeat" }),
        brain: ctx.brains.brain,
        heartbeatModel: ctx.heartbeatModel,
        timezone: ctx.timezone,
        systemPrompt: () => ctx.systemPrompt("heartbeat"),
        remindersChanged: ctx.remindersChanged,
      },
      ctx.now(),
    ),
  );
