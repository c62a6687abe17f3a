import { Methods, type MethodName } from "@concierge/protocol";
import { AgentError } from "./agent-error";
import { createAgentContext, type AgentOptions } from "./agent-context";
import { METHODS, type MethodInput } from "./methods";
import { ToolError } from "./tools/tool";

export { AgentError } from "./agent-error";
export type { AgentOptions } from "./agent-context";
export type { LlmOptions } from "./brain/llm-options";

export interface Agent {
  /**
   * params are already validated by the gateway against Methods[method].params; returns the result
   * object. Throws AgentError with a protocol ErrorCode for expected failures.
   */
  handle(method: MethodName, params: unknown): Promise<unknown>;
  close(): void;
}

/** The agent: its context built once, and every request handed to that method's handler (methods/). */
export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const ctx = createAgentContext(opts);
  const { log } = ctx;
  const run = <M extends MethodName>(method: M, params: MethodInput<M>) => METHODS[method](ctx, params);
  let closed = false;
  log.info({ llm: ctx.brains.brain ? "configured" : "offline", timezone: ctx.timezone() }, "agent ready");
  // Tell the control plane the next alarm as soon as it listens (the gateway may drop this if no
  // one is connected; status.nextAlarmAt carries the same).
  ctx.remindersChanged();

  return {
    async handle(method: MethodName, params: unknown): Promise<unknown> {
      if (closed) throw new AgentError("busy", "agent is shutting down", true);
      const spec = Methods[method];
      if (!spec) throw new AgentError("method_not_found", `unknown method ${String(method)}`);
      // Parsed again here for defaults and types; the gateway's check is the one that answers the peer.
      const parsed = spec.params.safeParse(params ?? {});
      if (!parsed.success) throw new AgentError("bad_request", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      try {
        return await run(method, parsed.data as MethodInput<typeof method>);
      } catch (err) {
        if (err instanceof AgentError) throw err;
        if (err instanceof ToolError) throw new AgentError(err.kind, err.message);
        log.error({ err, method }, "method failed");
        throw new AgentError("internal", "internal error", true);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      ctx.readonlyDb.close();
      ctx.db.close();
      log.info("agent closed");
    },
  };
}
