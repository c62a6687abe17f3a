import { toolParameters } from "./compact-parameters";
import { MEAL_TOOLS } from "./meal-tools";
import { MONEY_TOOLS } from "./money-tools";
import { PEOPLE_TOOLS } from "./people-tools";
import { PROFILE_TOOLS } from "./profile-tools";
import { REMINDER_TOOLS } from "./reminder-tools";
import { SCHEDULE_TOOLS } from "./schedule-tools";
import { queryDatabase } from "./sql-tool";
import { TASK_TOOLS } from "./task-tools";
import { ToolError, type Tool, type ToolContext } from "./tool";

export const ALL_TOOLS: readonly Tool[] = [
  ...TASK_TOOLS,
  ...REMINDER_TOOLS,
  ...SCHEDULE_TOOLS,
  ...MEAL_TOOLS,
  ...MONEY_TOOLS,
  ...PEOPLE_TOOLS,
  ...PROFILE_TOOLS,
  queryDatabase,
];

export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export class ToolRegistry {
  private readonly byName = new Map<string, Tool>();
  /** Built on first use: converting every schema to JSON Schema is ~10 ms of an agent's start. */
  private defs: ToolDefinition[] | undefined;

  constructor(tools: readonly Tool[] = ALL_TOOLS) {
    for (const t of tools) this.byName.set(t.name, t);
  }

  /** A registry with only the named tools (unknown names are ignored): what a limited caller gets. */
  only(names: readonly string[]): ToolRegistry {
    return new ToolRegistry([...this.byName.values()].filter((t) => names.includes(t.name)));
  }

  definitions(): ToolDefinition[] {
    return (this.defs ??= [...this.byName.values()].map((t) => ({ name: t.name, description: t.description, parameters: toolParameters(t) })));
  }

  /** The same tools in the shape the Chat Completions API takes. */
  openAiTools(): { type: "function"; function: ToolDefinition }[] {
    return this.definitions().map((d) => ({ type: "function", function: d }));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Validates the arguments, then runs the tool. Expected failures are ToolErrors. */
  run(ctx: ToolContext, name: string, args: unknown): unknown {
    const tool = this.byName.get(name);
    if (!tool) throw new ToolError(`There is no tool named ${name}.`, "not_found");
    const parsed = tool.schema.safeParse(args ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "arguments"}: ${i.message}`).join("; ");
      throw new ToolError(`Invalid arguments for ${name}: ${issues}`);
    }
    try {
      return tool.run(ctx, parsed.data);
    } catch (err) {
      if (err instanceof ToolError) throw err;
      // A constraint the schema did not catch: say what SQLite refused, keep the stack in the log.
      if (err instanceof Error && err.name === "SqliteError") {
        ctx.log.warn({ err, tool: name }, "tool refused by the database");
        throw new ToolError(`The database refused that: ${err.message}`);
      }
      throw err;
    }
  }

  /** For tool.call and the LLM loop: JSON text in, JSON text out. */
  runJson(ctx: ToolContext, name: string, argsJson: string): string {
    let args: unknown;
    try {
      args = argsJson.trim() === "" ? {} : JSON.parse(argsJson);
    } catch {
      throw new ToolError(`The arguments for ${name} are not valid JSON.`);
    }
    return JSON.stringify(this.run(ctx, name, args));
  }
}
