import type { ToolRegistry } from "../tools/registry";
import type { ToolContext } from "../tools/tool";
import { OfflineUnderstanding, type Understanding } from "./understanding/understand";

/**
 * The brain when no LLM is configured, or while the budget is spent or the provider is down: the
 * offline understanding layer (brain/understanding/) runs each request in a message through the
 * same tools the model would use, and phrases the results plainly. Deterministic, so it is also
 * what tests lean on.
 */
export class OfflineBrain {
  private readonly understanding: OfflineUnderstanding;

  constructor(tools: ToolRegistry, ctx: ToolContext) {
    this.understanding = new OfflineUnderstanding(tools, ctx);
  }

  reply(text: string): string {
    return this.understand(text).reply;
  }

  understand(text: string): Understanding {
    return this.understanding.understand(text);
  }
}
