import { z } from "zod/v4";
import type { Tool } from "./tool";

/** Keywords the model does not need: the registry validates every call with the zod schema anyway. */
const DROPPED = new Set(["$schema", "additionalProperties", "minLength", "maxLength", "pattern", "format"]);

function compact(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compact);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (DROPPED.has(k)) continue;
    // z.number().int() adds the largest safe integer as a bound; it tells a model nothing.
    if ((k === "maximum" || k === "minimum") && typeof v === "number" && Math.abs(v) >= Number.MAX_SAFE_INTEGER) continue;
    // A positive id: "exclusiveMinimum: 0" costs tokens for a rule the model never breaks.
    if (k === "exclusiveMinimum" && v === 0) continue;
    out[k] = compact(v);
  }
  return out;
}

/**
 * A tool's arguments as a JSON schema for the model: the caller's view (defaults make fields
 * optional), without the validation detail that only costs prompt tokens on every call. The tools
 * are sent with every request, so every keyword here is paid for many times a day.
 */
export function toolParameters(tool: Tool): Record<string, unknown> {
  return compact(z.toJSONSchema(tool.schema, { io: "input" })) as Record<string, unknown>;
}
