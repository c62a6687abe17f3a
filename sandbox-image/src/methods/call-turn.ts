import { getProfile } from "../db/profile-store";
import { handleCallTurn } from "../calls/call-turn";
import type { MethodHandler } from "./method-handler";

/** call.turn: one phase of a phone call (calls/). */
export const callTurn: MethodHandler<"call.turn"> = (ctx, p) =>
  ctx.turns.run("call.turn", p.idempotencyKey, undefined, async () => {
    const out = await handleCallTurn(
      {
        ...ctx.brains,
        log: ctx.log.child({ component: "call" }),
        userName: () => getProfile(ctx.db).name,
        voicePrompt: () => ctx.systemPrompt("voice"),
      },
      p,
      ctx.now(),
    );
    return { reply: out.reply, hangUp: out.hangUp };
  });
