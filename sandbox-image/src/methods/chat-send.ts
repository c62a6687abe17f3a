import { AgentError } from "../agent-error";
import { describeAttachments } from "../brain/attachments";
import { isProviderUnavailable } from "../brain/provider-errors";
import type { MethodHandler } from "./method-handler";

/** chat.send: one turn of conversation, through the model when there is one, else the offline brain. */
export const chatSend: MethodHandler<"chat.send"> = (ctx, p) =>
  ctx.turns.run("chat.send", p.idempotencyKey, p.sentAt, async () => {
    const { brain, offline, history } = ctx.brains;
    const text = [p.text, describeAttachments(p.attachments)].filter(Boolean).join("\n");
    if (brain) {
      const onDelta = p.channel === "console" ? (t: string) => ctx.emit("chat.delta", { requestId: p.idempotencyKey, text: t }) : undefined;
      const out = await brain.turn({ channel: p.channel, text, style: p.channel === "voice" ? "voice" : "chat", now: ctx.now(), onDelta });
      // Thrown, not answered: the transaction rolls back (no idempotency record, no history), and
      // the control plane's dispatcher retries the turn once the provider is back.
      if (isProviderUnavailable(out.failure)) throw new AgentError("busy", `the LLM provider is unavailable (${out.failure})`, true);
      // A spent budget refuses the first call, before any tool ran: the offline layer still does
      // what it can (a reminder, an expense), after saying why the answer is simple.
      if (out.failure === "budget_exhausted" && out.llmCalls <= 1 && p.text.trim()) {
        const reply = `${out.reply}\n\n${offline.reply(p.text)}`;
        history.append(p.channel, "assistant", reply, ctx.now());
        return { reply, llmCalls: out.llmCalls };
      }
      return { reply: out.reply, llmCalls: out.llmCalls };
    }
    history.append(p.channel, "user", text, ctx.now());
    const reply = p.text.trim()
      ? offline.reply(p.text)
      : "I got your attachment, but without a language model connected I can't look at it. Tell me in words what you need.";
    history.append(p.channel, "assistant", reply, ctx.now());
    return { reply, llmCalls: 0 };
  });
