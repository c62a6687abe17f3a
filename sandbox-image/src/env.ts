import { createPublicKey, type KeyObject } from "node:crypto";
import { z } from "zod/v4";
import { AGENT_PORT, AgentEnv } from "@concierge/protocol";
import type { LlmOptions } from "./brain/llm-options";

/** Everything the agent process takes from its environment, checked once at start-up. */
export interface AgentConfig {
  sandboxId: string;
  token: string;
  controlPlanePublicKey: KeyObject;
  dataDir: string;
  templatesDir: string;
  host: string;
  port: number;
  timezone: string;
  userName?: string;
  /** Only when both LLM_BASE_URL and LLM_MODEL are set; the sandbox token is the API key. */
  llm?: LlmOptions;
  logLevel: string;
}

/** Names each problem, never a value: the environment holds the token. */
export class AgentEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent environment: ${problems.join("; ")}`);
    this.name = "AgentEnvError";
  }
}

/**
 * ICU's list of canonical zone ids first: a lookup in it costs a few milliseconds where building a
 * DateTimeFormat (the general check) costs ~30 ms of a start, most of it formatting data a check
 * does not need (measured in docs/sandbox-speed.md). UTC (the default, which the list lacks) is
 * taken as it is; aliases ("Asia/Kolkata", "US/Eastern") and other spellings take the general check.
 */
function isTimeZone(tz: string): boolean {
  if (tz === "UTC" || Intl.supportedValuesOf("timeZone").includes(tz)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Accepts the SPKI PEM base64-encoded (what runtimes pass, it survives env quoting) or as plain PEM. */
function parsePublicKey(value: string): KeyObject | undefined {
  const pem = value.startsWith("-----BEGIN") ? value : Buffer.from(value, "base64").toString("utf8");
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === "ed25519" ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Built for the one parse at start and dropped after it: a zod v4 schema keeps its own method
 * closures, and nothing reads the environment again.
 */
function agentEnvSchema() {
  const optional = z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
  // The same words whether the variable is missing or too short (zod's own would name types).
  const required = (min: number, problem: string) => z.string({ error: problem }).min(min, problem);
  return z.object({
    [AgentEnv.sandboxId]: required(1, "is required"),
    [AgentEnv.token]: required(16, "is required (at least 16 characters)"),
    [AgentEnv.controlPlanePublicKey]: required(1, "is required"),
    [AgentEnv.dataDir]: optional,
    [AgentEnv.templatesDir]: optional,
    [AgentEnv.host]: optional,
    [AgentEnv.port]: optional.pipe(z.coerce.number<string>().int().min(0).max(65535).optional()),
    [AgentEnv.timezone]: optional.refine((tz) => tz === undefined || isTimeZone(tz), "is not an IANA time zone"),
    [AgentEnv.userName]: optional,
    [AgentEnv.llmBaseUrl]: optional.pipe(z.string().url().optional()),
    [AgentEnv.llmModel]: optional,
    [AgentEnv.heartbeatModel]: optional,
    [AgentEnv.logLevel]: optional.pipe(z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).optional()),
  });
}

/**
 * The schema for the process's one parse, built when this module is evaluated: in the image that is
 * while its startup snapshot is made, so a start deserializes it instead of building it (~5 ms of a
 * sandbox's start, docs/sandbox-speed.md). The parse takes it and drops it, so it is garbage after.
 */
let startSchema: ReturnType<typeof agentEnvSchema> | undefined = agentEnvSchema();

export function parseAgentEnv(env: NodeJS.ProcessEnv, defaults: { templatesDir: string }): AgentConfig {
  const schema = startSchema ?? agentEnvSchema();
  startSchema = undefined;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new AgentEnvError(parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`));
  }
  const e = parsed.data;
  const publicKey = parsePublicKey(e[AgentEnv.controlPlanePublicKey]);
  if (!publicKey) throw new AgentEnvError([`${AgentEnv.controlPlanePublicKey} is not a base64-encoded Ed25519 SPKI PEM`]);
  const baseURL = e[AgentEnv.llmBaseUrl];
  const model = e[AgentEnv.llmModel];
  return {
    sandboxId: e[AgentEnv.sandboxId],
    token: e[AgentEnv.token],
    controlPlanePublicKey: publicKey,
    dataDir: e[AgentEnv.dataDir] ?? "/data",
    templatesDir: e[AgentEnv.templatesDir] ?? defaults.templatesDir,
    host: e[AgentEnv.host] ?? "0.0.0.0",
    port: e[AgentEnv.port] ?? AGENT_PORT,
    timezone: e[AgentEnv.timezone] ?? "UTC",
    userName: e[AgentEnv.userName],
    llm:
      baseURL && model
        ? { baseURL, apiKey: e[AgentEnv.token], model, heartbeatModel: e[AgentEnv.heartbeatModel] }
        : undefined,
    logLevel: e[AgentEnv.logLevel] ?? "info",
  };
}
