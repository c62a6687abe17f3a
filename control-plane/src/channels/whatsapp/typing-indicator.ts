import type { Clock } from "../../clock";
import type { Logger } from "../../logger";
import type { GraphApiClient } from "./graph-client";

/** WhatsApp hides "typing…" after about 25 s, so it is renewed a little before that. */
export const TYPING_REFRESH_MS = 20_000;

export interface TypingHandle {
  /** Stops renewing. Safe to call more than once. */
  stop(): void;
}

/**
 * Marks the user's message read and shows "typing…" while the agent works, renewing it until
 * stopped. Failures are logged and swallowed: a missing indicator must never fail a turn.
 */
export function startTyping(graph: GraphApiClient, wamid: string, opts: { clock: Clock; logger: Logger; refreshMs?: number; maxMs?: number }): TypingHandle {
  // Built only when a failure is logged: a child logger (with its redaction) per turn costs real CPU.
  let log: Logger | undefined;
  const refreshMs = opts.refreshMs ?? TYPING_REFRESH_MS;
  // A bound, so a turn whose caller forgot to stop cannot keep a user's screen busy forever.
  const deadline = opts.clock.now().getTime() + (opts.maxMs ?? 10 * 60_000);
  let stopped = false;
  let timer: { cancel(): void } | undefined;
  const tick = () => {
    if (stopped) return;
    graph.markRead(wamid, { typing: true }).catch((err) => (log ??= opts.logger.child({ component: "whatsapp-typing" })).debug({ err: (err as Error).message, wamid }, "typing indicator failed"));
    if (opts.clock.now().getTime() + refreshMs < deadline) timer = opts.clock.setTimeout(tick, refreshMs);
  };
  tick();
  return {
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
