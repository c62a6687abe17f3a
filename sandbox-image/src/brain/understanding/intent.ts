import type { ToolRegistry } from "../../tools/registry";
import { ToolError, type ToolContext } from "../../tools/tool";

export type Domain = "small_talk" | "profile" | "reminders" | "tasks" | "money" | "schedule" | "meals" | "memory" | "contacts";

/**
 * What a recogniser hands back for one request: its domain and how to carry it out. `run` calls the
 * same tools the model uses (through the registry), so the rows are the same either way, and
 * returns the sentence for the user.
 */
export interface Intent {
  domain: Domain;
  /** Greetings and thanks around a real request add nothing to the reply. */
  filler?: boolean;
  run(act: Act): string;
}

/**
 * An intent on one item the user named (a task, an event, a reminder). `find` answers the item, or
 * the sentence to say instead (none matched, or which one?); `then` acts on the item.
 */
export function onNamed<T>(domain: Domain, find: (act: Act) => T | string, then: (act: Act, item: T) => string): Intent {
  return {
    domain,
    run(act) {
      const item = find(act);
      return typeof item === "string" ? item : then(act, item);
    },
  };
}

/** One request's clause in, an intent out, or null when this recogniser does not know it. */
export type Recogniser = (clause: string, act: Act) => Intent | null;

/** What recognisers and intents may use: the tools, and the user's clock, zone and currency. */
export class Act {
  constructor(
    private readonly tools: ToolRegistry,
    readonly ctx: ToolContext,
  ) {}

  call<T>(name: string, args: Record<string, unknown>): T {
    // A registry may be filtered (a call with limited trust offers fewer tools): say so kindly.
    if (!this.tools.has(name)) throw new ToolError("That isn't something I can do from here.", "not_found");
    // Optional fields left undefined are dropped, as the model would leave them out.
    const clean = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    return this.tools.run(this.ctx, name, clean) as T;
  }

  get zone(): string {
    return this.ctx.timezone();
  }

  get now(): Date {
    return this.ctx.now();
  }

  get currency(): string {
    return this.ctx.currency();
  }
}
