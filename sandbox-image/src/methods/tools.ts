import { AgentError } from "../agent-error";
import { LIMITED_VOICE_PROMPT } from "../calls/call-trust";
import { ToolError } from "../tools/tool";
import type { MethodHandler } from "./method-handler";

/** tools.list and tool.call serve sessions run outside the agent (realtime voice): the caller's trust picks the tools. */
export const toolsList: MethodHandler<"tools.list"> = async (ctx, p) => ({
  tools: ctx.toolsFor(p.trust).definitions(),
  instructions: p.trust === "full" ? ctx.systemPrompt("voice") : LIMITED_VOICE_PROMPT,
});

export const toolCall: MethodHandler<"tool.call"> = (ctx, p) =>
  ctx.turns.run("tool.call", p.idempotencyKey, undefined, async () => {
    const allowed = ctx.toolsFor(p.trust);
    if (!allowed.has(p.name)) throw new AgentError("not_found", `no tool named ${p.name}`);
    try {
      return { output: allowed.runJson(ctx.toolContext, p.name, p.arguments) };
    } catch (err) {
      // Realtime voice hands this output straight to its model: a readable error lets it recover.
      if (err instanceof ToolError) return { output: JSON.stringify({ error: err.message }) };
      throw err;
    }
  });
