import type { Logger } from "pino";
import { z } from "zod/v4";
import type { EventName, EventPayload } from "@concierge/protocol";
import type { Db } from "../db/open-database";

/** What every tool may use. Time and zone are read per call: the profile tool can change the zone. */
export interface ToolContext {
  db: Db;
  /** Separate read-only connection for the SQL tool. */
  readonlyDb: Db;
  now(): Date;
  timezone(): string;
  currency(): string;
  log: Logger;
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
  /** Called after any change to reminders: the agent re-announces its next alarm. */
  remindersChanged(): void;
}

export interface Tool<A = any> {
  name: string;
  description: string;
  readonly schema: z.ZodType;
  run(ctx: ToolContext, args: A): unknown;
}

/**
 * Keeps each tool's argument type tied to its schema. The schema is given as a function and built
 * on first read: zod v4 gives every schema its own set of method closures, so building all the
 * tools' schemas at import cost every agent heap and start CPU for tools a turn may never call.
 */
export function defineTool<S extends z.ZodType>(tool: {
  name: string;
  description: string;
  schema: () => S;
  run(ctx: ToolContext, args: z.output<S>): unknown;
}): Tool<z.output<S>> {
  let schema: S | undefined;
  return {
    name: tool.name,
    description: tool.description,
    get schema() {
      return (schema ??= tool.schema());
    },
    run: tool.run,
  };
}

/** An expected tool failure (unknown id, bad time): shown to the model or user as a sentence. */
export class ToolError extends Error {
  constructor(
    message: string,
    public readonly kind: "bad_request" | "not_found" = "bad_request",
  ) {
    super(message);
    this.name = "ToolError";
  }
}
