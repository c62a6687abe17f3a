import path from "node:path";
import { z } from "zod";

/**
 * Every environment variable the control plane reads, in one schema. Each has a description: the
 * README's configuration table is generated from this file (`node scripts/env-table.js`) and a test
 * checks that the two agree. Nothing else in the control plane reads process.env.
 */

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
const url = (def?: string) =>
  def === undefined
    ? optionalString.pipe(z.string().url("must be a URL like https://host/path").optional())
    : optionalString.transform((v) => v ?? def).pipe(z.string().url("must be a URL like https://host/path"));
const int = (def: number, min: number, max: number) =>
  optionalString
    .transform((v) => (v === undefined ? def : Number(v)))
    .pipe(z.number({ invalid_type_error: "must be a whole number" }).int("must be a whole number").min(min).max(max));
const num = (def: number, min: number, max: number) =>
  optionalString
    .transform((v) => (v === undefined ? def : Number(v)))
    .pipe(z.number({ invalid_type_error: "must be a number" }).finite("must be a number").min(min).max(max));
const oneOf = <T extends [string, ...string[]]>(values: T, def?: T[number]) =>
  optionalString.transform((v) => v ?? def).pipe(z.enum(values).optional());
const hhmmRange = optionalString
  .transform((v) => v ?? "07:00-23:00")
  .pipe(z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, "must look like 07:00-23:00"));
const timezone = optionalString
  .transform((v) => v ?? "UTC")
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "must be an IANA time zone like Europe/Berlin");
const list = optionalString.transform((v) => (v === undefined ? [] : v.split(",").map((s) => s.trim()).filter(Boolean)));

interface VarSpec {
  schema: z.ZodTypeAny;
  doc: string;
  secret?: boolean;
}

/** name -> (schema, one-line doc). The order here is the README's order. */
export const ENV: Record<string, VarSpec> = {
  PORT: { schema: int(3001, 0, 65535), doc: "HTTP port (default 3001; 0 picks a free one)" },
  HOST: { schema: optionalString.transform((v) => v ?? "0.0.0.0"), doc: "Interface to listen on for providers, operators and the dashboard (default 0.0.0.0; it does not serve /llm/v1)" },
  PUBLIC_BASE_URL: { schema: url(), doc: "The URL providers call; Twilio signatures are computed over it (default http://localhost:PORT)" },
  DATABASE_URL: { schema: url(), doc: "PostgreSQL connection URL; unset means embedded PGlite under DATA_DIR", secret: true },
  DATA_DIR: { schema: optionalString.transform((v) => v ?? "./data"), doc: "Local state for the embedded defaults: PGlite, process-runtime sandboxes, generated keys (default ./data)" },
  METRICS_TOKEN: { schema: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()), doc: "Bearer token a Prometheus scraper sends for GET /metrics; unset means the admin token", secret: true },
  CONTROL_PLANE_KEY_FILE: { schema: optionalString, doc: "The control plane's key file (signing key and token secret, JSON, mode 0600); replicas share one, e.g. a mounted Secret (default DATA_DIR/control-plane-keys.json)" },
  ADMIN_TOKEN: { schema: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()), doc: "Bearer token for /sandbox/* and /admin; unset means one is generated and stored under DATA_DIR", secret: true },
  LOG_LEVEL: { schema: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info"), doc: "pino log level (default info)" },

  SANDBOX_RUNTIME: { schema: oneOf(["docker", "process", "kubernetes"]), doc: "`docker`, `process` or `kubernetes`; unset means docker when sandboxes run in Docker or a daemon answers (refusing to start without the image), process only where no daemon ever answered" },
  SANDBOX_IMAGE: { schema: optionalString.transform((v) => v ?? "concierge-agent:latest"), doc: "Agent image tag (default concierge-agent:latest)" },
  PATH: { schema: optionalString.transform((v) => v ?? "/usr/bin:/bin"), doc: "Search path handed to the process runtime's agents (nothing else of the control plane's environment reaches them)" },
  SANDBOX_NETWORK: { schema: optionalString.transform((v) => v ?? "concierge-sandboxes"), doc: "Private Docker network for sandboxes (default concierge-sandboxes)" },
  SANDBOX_LISTEN_HOST: { schema: optionalString, doc: "Address of the second listener, the only one sandboxes reach, serving /llm/v1 alone; unset means the sandbox network's gateway (Docker on the host), this container's address on it (in a container), or 127.0.0.1 (process runtime)" },
  SANDBOX_LISTEN_PORT: { schema: optionalString.pipe(z.coerce.number().int("must be a whole number").min(0).max(65535).optional()), doc: "Port of the sandbox listener (default PORT+1; a free one when PORT is 0)" },
  SANDBOX_SELF_CONTAINER: { schema: optionalString, doc: "This control plane's own container name or id when it runs in a container (then sandboxes reach it at its address on SANDBOX_NETWORK); unset means detected (/.dockerenv and the host name)" },
  SANDBOX_GATEWAY_URL: { schema: url(), doc: "How sandboxes reach the control plane's LLM gateway; unset means http://<sandbox listener address>:<port>/llm/v1" },
  KUBECONFIG: { schema: optionalString, doc: "SANDBOX_RUNTIME=kubernetes: kubeconfig file to reach the cluster with; unset means the in-cluster service account" },
  KUBE_NAMESPACE: { schema: optionalString.transform((v) => v ?? "concierge-sandboxes"), doc: "SANDBOX_RUNTIME=kubernetes: namespace the sandboxes live in (default concierge-sandboxes)" },
  KUBE_CONTROL_PLANE_NAMESPACE: { schema: optionalString.transform((v) => v ?? "concierge"), doc: "Namespace of the control-plane pods: sandboxes' NetworkPolicies admit only them (default concierge)" },
  KUBE_CONTROL_PLANE_LABELS: {
    schema: optionalString
      .transform((v) => v ?? "app.kubernetes.io/name=concierge-control-plane")
      .pipe(z.string().regex(/^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*)*$/, "must look like key=value,key2=value2")),
    doc: "Labels of the control-plane pods, key=value,... (default app.kubernetes.io/name=concierge-control-plane)",
  },
  KUBE_STORAGE_SIZE: { schema: optionalString.transform((v) => v ?? "1Gi").pipe(z.string().regex(/^\d+(Ki|Mi|Gi|Ti)$/, "must be a size like 1Gi")), doc: "Size of each sandbox's /data PersistentVolumeClaim (default 1Gi)" },
  KUBE_STORAGE_CLASS: { schema: optionalString, doc: "StorageClass for those claims; unset means the cluster's default" },
  SANDBOX_MEMORY_MB: { schema: int(256, 64, 65536), doc: "Memory limit per sandbox in MiB (default 256)" },
  SANDBOX_CPUS: { schema: num(0.5, 0.05, 64), doc: "CPU limit per sandbox (default 0.5)" },
  SANDBOX_START_CPUS: { schema: num(2, 0, 64), doc: "Startup CPU boost (Docker): a sandbox is created or woken with this CPU limit, capped at the host's CPUs, and lowered to SANDBOX_CPUS once its agent answered; 0, or not above SANDBOX_CPUS, turns it off (default 2)" },
  SANDBOX_PIDS: { schema: int(128, 16, 100000), doc: "Process limit per sandbox (default 128)" },
  SANDBOX_IDLE_MINUTES: { schema: num(15, 0.05, 100000), doc: "Stop a sandbox (running or frozen) idle this long; the next event starts it again (default 15)" },
  SANDBOX_FREEZE_MINUTES: { schema: num(2, 0, 100000), doc: "Freeze a running sandbox idle this long (Docker pause: no CPU, memory kept, woken in tens of ms) before it is stopped; 0 turns the frozen tier off, as does a runtime that cannot freeze (default 2)" },
  AGENT_REQUEST_TIMEOUT_MS: { schema: int(120_000, 1000, 3_600_000), doc: "How long the control plane waits for one agent request (default 120000)" },

  INBOX_CONCURRENCY: { schema: int(1000, 1, 100000), doc: "Turns in flight at once per control-plane process, one per user at most (default 1000); idle database load does not grow with it" },
  INBOX_MAX_ATTEMPTS: { schema: int(5, 1, 100), doc: "Attempts before an inbound event whose turn keeps failing is dead-lettered (default 5)" },
  INBOX_INFRA_ATTEMPTS: { schema: int(40, 1, 1000), doc: "Attempts while the infrastructure fails (Docker restarting, a sandbox not starting, the database away), backing off up to 5 minutes apart, before dead-lettering (default 40, about an hour and a half)" },
  INBOX_LEASE_SECONDS: { schema: int(10, 3, 86400), doc: "Lease on a claimed inbox or outbox row, renewed every third of it while it is worked; a crashed process's users resume after it (default 10)" },
  QUEUE_RETENTION_DAYS: { schema: num(30, 0, 36500), doc: "Answered and dead-lettered inbox events and sent or failed outbox rows (with the message text they hold) are deleted after this many days; 0 keeps them forever (default 30)" },
  QUEUE_WORKER_ID: { schema: optionalString.pipe(z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, "1-100 of A-Z a-z 0-9 _ . -").optional()), doc: "This process's queue worker id; unset means one kept in DATA_DIR. A restart with the same id takes back its previous run's leases at once" },
  DATABASE_POOL_SIZE: { schema: int(20, 2, 1000), doc: "PostgreSQL connections per process (default 20); turns in flight do not hold one. Keep (replicas + a rolling update's surge) x this under the server's max_connections (PostgreSQL default 100)" },

  WHATSAPP_VERIFY_TOKEN: { schema: optionalString, doc: "Meta webhook verify token", secret: true },
  WHATSAPP_APP_SECRET: { schema: optionalString, doc: "Meta app secret: signs webhook bodies", secret: true },
  WHATSAPP_ACCESS_TOKEN: { schema: optionalString, doc: "Graph API access token", secret: true },
  WHATSAPP_PHONE_NUMBER_ID: { schema: optionalString, doc: "The business phone number id that sends replies" },
  WHATSAPP_API_BASE_URL: { schema: url("https://graph.facebook.com/v22.0"), doc: "Graph API base (default https://graph.facebook.com/v22.0)" },
  WHATSAPP_OUTSIDE_WINDOW: { schema: oneOf(["template", "hold"], "hold"), doc: "Proactive messages outside the 24-hour window: send a template, or hold until the user writes (default hold)" },
  WHATSAPP_TEMPLATE_NAME: { schema: optionalString, doc: "Approved template for proactive messages outside the 24-hour window" },
  WHATSAPP_TEMPLATE_LANGUAGE: { schema: optionalString.transform((v) => v ?? "en"), doc: "That template's language code (default en)" },

  TWILIO_ACCOUNT_SID: { schema: optionalString, doc: "Twilio account SID" },
  TWILIO_AUTH_TOKEN: { schema: optionalString, doc: "Twilio auth token: validates webhook signatures", secret: true },
  TWILIO_API_BASE_URL: { schema: url("https://api.twilio.com"), doc: "Twilio REST API base (default https://api.twilio.com)" },
  TWILIO_PHONE_NUMBER: { schema: optionalString, doc: "The assistant's number, caller id for outbound reminder calls" },
  VOICE_CONFIRM_MINUTES: { schema: num(5, 1, 60), doc: "How long a WhatsApp \"yes\" upgrades a live call from an unverified number after the question went out (default 5)" },
  URGENT_CALLS_PER_DAY: { schema: int(3, 0, 100), doc: "Most urgent-reminder phone calls per user per 24 hours; further urgent reminders go to WhatsApp only (default 3)" },

  ZOOM_WEBHOOK_SECRET_TOKEN: { schema: optionalString, doc: "Zoom webhook secret token: URL validation and x-zm-signature", secret: true },
  ZOOM_CLIENT_ID: { schema: optionalString, doc: "Zoom app client id (RTMS handshake)" },
  ZOOM_CLIENT_SECRET: { schema: optionalString, doc: "Zoom app client secret (RTMS handshake signature)", secret: true },

  LLM_BASE_URL: { schema: url(), doc: "Upstream OpenAI-compatible provider for the gateway (OpenRouter, OpenAI, a local server); unset means agents run their offline parser" },
  LLM_API_KEY: { schema: optionalString, doc: "Upstream provider key; never leaves the control plane", secret: true },
  LLM_MODEL: { schema: optionalString, doc: "Model agents use" },
  LLM_HEARTBEAT_MODEL: { schema: optionalString, doc: "Cheaper model for heartbeats (default LLM_MODEL)" },
  LLM_ALLOWED_MODELS: { schema: list, doc: "Comma-separated extra models sandboxes may ask for (LLM_MODEL and LLM_HEARTBEAT_MODEL always are)" },
  LLM_MONTHLY_BUDGET_USD: { schema: num(10, 0, 1_000_000), doc: "Default monthly LLM budget per user in USD (default 10)" },
  LLM_PRICE_INPUT_PER_MTOK: { schema: num(0, 0, 100000), doc: "USD per million input tokens when the provider reports no cost (default 0)" },
  LLM_PRICE_OUTPUT_PER_MTOK: { schema: num(0, 0, 100000), doc: "USD per million output tokens when the provider reports no cost (default 0)" },
  LLM_RATE_LIMIT_PER_MINUTE: { schema: int(60, 1, 100000), doc: "Gateway requests per sandbox per minute (default 60)" },
  LLM_MAX_OUTPUT_TOKENS: { schema: int(4096, 16, 1_000_000), doc: "Most completion tokens one gateway call may ask for; a larger max_tokens is lowered to it, and budgets reserve for it (default 4096)" },
  LLM_TIMEOUT_MS: { schema: int(60_000, 1000, 600_000), doc: "Upstream request timeout (default 60000)" },

  OPENAI_REALTIME_URL: { schema: url(), doc: "OpenAI Realtime WebSocket URL; set with OPENAI_API_KEY to answer calls in real time" },
  OPENAI_API_KEY: { schema: optionalString, doc: "Key for the Realtime API", secret: true },
  OPENAI_REALTIME_MODEL: { schema: optionalString.transform((v) => v ?? "gpt-realtime"), doc: "Realtime model (default gpt-realtime)" },

  HEARTBEAT_INTERVAL_MINUTES: { schema: num(30, 1, 1440), doc: "Minutes between heartbeats inside a user's active hours (default 30)" },
  DEFAULT_TIMEZONE: { schema: timezone, doc: "Time zone for new users until they set theirs (default UTC)" },
  DEFAULT_ACTIVE_HOURS: { schema: hhmmRange, doc: "Heartbeat hours for new users, local time (default 07:00-23:00)" },
  PROACTIVE_DAILY_CAP: { schema: int(8, 0, 1000), doc: "Most proactive (heartbeat) messages per user per day (default 8)" },
};

const shape = Object.fromEntries(Object.entries(ENV).map(([k, v]) => [k, v.schema])) as Record<string, z.ZodTypeAny>;
const EnvSchema = z.object(shape);
type RawConfig = { [K in keyof typeof ENV]: unknown };

export interface Config {
  port: number;
  host: string;
  publicBaseUrl: string;
  databaseUrl?: string;
  dataDir: string;
  /** CONTROL_PLANE_KEY_FILE, else DATA_DIR/control-plane-keys.json; unset only for DATA_DIR=":memory:" (keys then in the settings table). */
  keyFile?: string;
  adminToken?: string;
  metricsToken?: string;
  logLevel: string;
  sandbox: {
    runtime?: "docker" | "process" | "kubernetes";
    image: string;
    network: string;
    /** PATH for the process runtime's agents. */
    searchPath: string;
    gatewayUrl?: string;
    /** The sandbox listener; host undefined means "ask the runtime". */
    listenHost?: string;
    listenPort: number;
    selfContainer?: string;
    memoryMb: number;
    cpus: number;
    /** Startup CPU boost; undefined when off. */
    startCpus?: number;
    pids: number;
    idleMinutes: number;
    freezeMinutes: number;
    requestTimeoutMs: number;
  };
  kube: {
    kubeconfig?: string;
    namespace: string;
    controlPlaneNamespace: string;
    controlPlaneLabels: Record<string, string>;
    storageSize: string;
    storageClass?: string;
  };
  inbox: { concurrency: number; maxAttempts: number; infraAttempts: number; leaseSeconds: number };
  queue: { retentionDays: number; workerId?: string; poolSize: number };
  whatsapp?: {
    verifyToken: string;
    appSecret: string;
    accessToken: string;
    phoneNumberId: string;
  };
  whatsappApiBaseUrl: string;
  whatsappOutsideWindow: "template" | "hold";
  whatsappTemplate?: { name: string; language: string };
  twilio?: { accountSid: string; authToken: string; phoneNumber?: string };
  twilioApiBaseUrl: string;
  voice: { confirmMinutes: number; urgentCallsPerDay: number };
  zoom?: { webhookSecretToken: string; clientId?: string; clientSecret?: string };
  llm?: {
    baseUrl: string;
    apiKey?: string;
    model: string;
    heartbeatModel: string;
    allowedModels: string[];
  };
  llmPolicy: {
    monthlyBudgetUsd: number;
    priceInputPerMTok: number;
    priceOutputPerMTok: number;
    rateLimitPerMinute: number;
    timeoutMs: number;
    maxOutputTokens: number;
  };
  realtime?: { url: string; apiKey: string; model: string };
  heartbeat: { intervalMinutes: number; defaultTimezone: string; defaultActiveHours: { start: string; end: string }; dailyCap: number };
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads and checks the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.keys(ENV).map((k) => [k, env[k]])));
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      const shown = ENV[name]?.secret ? "(secret)" : JSON.stringify(env[name]);
      problems.push(`${name}=${shown}: ${issue.message}`);
    }
  }
  // Cross-field rules look at what is set, so they are reported alongside the per-variable ones.
  const isSet = (n: string) => (env[n] ?? "").trim() !== "";
  const together = (names: string[], why: string) => {
    const set = names.filter(isSet);
    if (set.length > 0 && set.length < names.length) {
      const missing = names.filter((n) => !isSet(n));
      problems.push(`${missing.join(", ")}: required when ${set.join(", ")} ${set.length > 1 ? "are" : "is"} set (${why})`);
    }
  };
  together(["WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"], "WhatsApp needs all four or none");
  together(["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"], "Twilio needs both");
  together(["ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"], "RTMS needs both");
  if (isSet("ZOOM_CLIENT_ID") && !isSet("ZOOM_WEBHOOK_SECRET_TOKEN")) {
    problems.push("ZOOM_WEBHOOK_SECRET_TOKEN: required when ZOOM_CLIENT_ID is set (Zoom events must be verified)");
  }
  together(["OPENAI_REALTIME_URL", "OPENAI_API_KEY"], "real-time voice needs both");
  if (isSet("LLM_BASE_URL") && !isSet("LLM_MODEL")) problems.push("LLM_MODEL: required when LLM_BASE_URL is set");
  if (!isSet("LLM_BASE_URL") && (isSet("LLM_MODEL") || isSet("LLM_API_KEY"))) {
    problems.push("LLM_BASE_URL: required when LLM_MODEL or LLM_API_KEY is set");
  }
  if (env.WHATSAPP_OUTSIDE_WINDOW?.trim() === "template" && !isSet("WHATSAPP_TEMPLATE_NAME")) {
    problems.push("WHATSAPP_TEMPLATE_NAME: required when WHATSAPP_OUTSIDE_WINDOW=template");
  }
  if (env.SANDBOX_RUNTIME?.trim() === "kubernetes" && !isSet("SANDBOX_GATEWAY_URL")) {
    problems.push("SANDBOX_GATEWAY_URL: required when SANDBOX_RUNTIME=kubernetes (the LLM gateway Service's URL as pods see it)");
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data as Record<keyof RawConfig, any>;

  const [ahStart, ahEnd] = String(e.DEFAULT_ACTIVE_HOURS).split("-") as [string, string];
  const port = e.PORT as number;
  return {
    port,
    host: e.HOST,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${port}`).replace(/\/+$/, ""),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    keyFile: e.CONTROL_PLANE_KEY_FILE ?? (e.DATA_DIR === ":memory:" ? undefined : path.resolve(e.DATA_DIR, "control-plane-keys.json")),
    adminToken: e.ADMIN_TOKEN,
    metricsToken: e.METRICS_TOKEN,
    logLevel: e.LOG_LEVEL,
    sandbox: {
      runtime: e.SANDBOX_RUNTIME,
      image: e.SANDBOX_IMAGE,
      network: e.SANDBOX_NETWORK,
      searchPath: e.PATH,
      gatewayUrl: e.SANDBOX_GATEWAY_URL,
      listenHost: e.SANDBOX_LISTEN_HOST,
      listenPort: e.SANDBOX_LISTEN_PORT ?? (port === 0 ? 0 : port + 1),
      selfContainer: e.SANDBOX_SELF_CONTAINER,
      memoryMb: e.SANDBOX_MEMORY_MB,
      cpus: e.SANDBOX_CPUS,
      startCpus: e.SANDBOX_START_CPUS > e.SANDBOX_CPUS ? e.SANDBOX_START_CPUS : undefined,
      pids: e.SANDBOX_PIDS,
      idleMinutes: e.SANDBOX_IDLE_MINUTES,
      freezeMinutes: e.SANDBOX_FREEZE_MINUTES,
      requestTimeoutMs: e.AGENT_REQUEST_TIMEOUT_MS,
    },
    kube: {
      kubeconfig: e.KUBECONFIG,
      namespace: e.KUBE_NAMESPACE,
      controlPlaneNamespace: e.KUBE_CONTROL_PLANE_NAMESPACE,
      controlPlaneLabels: Object.fromEntries(String(e.KUBE_CONTROL_PLANE_LABELS).split(",").map((kv) => kv.split("=") as [string, string])),
      storageSize: e.KUBE_STORAGE_SIZE,
      storageClass: e.KUBE_STORAGE_CLASS,
    },
      inbox: { concurrency: e.INBOX_CONCURRENCY, maxAttempts: e.INBOX_MAX_ATTEMPTS, infraAttempts: e.INBOX_INFRA_ATTEMPTS, leaseSeconds: e.INBOX_LEASE_SECONDS },
    queue: { retentionDays: e.QUEUE_RETENTION_DAYS, workerId: e.QUEUE_WORKER_ID, poolSize: e.DATABASE_POOL_SIZE },
    whatsapp: e.WHATSAPP_APP_SECRET
      ? {
          verifyToken: e.WHATSAPP_VERIFY_TOKEN,
          appSecret: e.WHATSAPP_APP_SECRET,
          accessToken: e.WHATSAPP_ACCESS_TOKEN,
          phoneNumberId: e.WHATSAPP_PHONE_NUMBER_ID,
        }
      : undefined,
    whatsappApiBaseUrl: e.WHATSAPP_API_BASE_URL.replace(/\/+$/, ""),
    whatsappOutsideWindow: e.WHATSAPP_OUTSIDE_WINDOW,
    whatsappTemplate: e.WHATSAPP_TEMPLATE_NAME ? { name: e.WHATSAPP_TEMPLATE_NAME, language: e.WHATSAPP_TEMPLATE_LANGUAGE } : undefined,
    twilio: e.TWILIO_ACCOUNT_SID
      ? { accountSid: e.TWILIO_ACCOUNT_SID, authToken: e.TWILIO_AUTH_TOKEN, phoneNumber: e.TWILIO_PHONE_NUMBER }
      : undefined,
    twilioApiBaseUrl: e.TWILIO_API_BASE_URL.replace(/\/+$/, ""),
    voice: { confirmMinutes: e.VOICE_CONFIRM_MINUTES, urgentCallsPerDay: e.URGENT_CALLS_PER_DAY },
    zoom: e.ZOOM_WEBHOOK_SECRET_TOKEN
      ? { webhookSecretToken: e.ZOOM_WEBHOOK_SECRET_TOKEN, clientId: e.ZOOM_CLIENT_ID, clientSecret: e.ZOOM_CLIENT_SECRET }
      : undefined,
    llm: e.LLM_BASE_URL
      ? {
          baseUrl: e.LLM_BASE_URL.replace(/\/+$/, ""),
          apiKey: e.LLM_API_KEY,
          model: e.LLM_MODEL,
          heartbeatModel: e.LLM_HEARTBEAT_MODEL ?? e.LLM_MODEL,
          allowedModels: [...new Set([e.LLM_MODEL, e.LLM_HEARTBEAT_MODEL ?? e.LLM_MODEL, ...e.LLM_ALLOWED_MODELS])],
        }
      : undefined,
    llmPolicy: {
      monthlyBudgetUsd: e.LLM_MONTHLY_BUDGET_USD,
      priceInputPerMTok: e.LLM_PRICE_INPUT_PER_MTOK,
      priceOutputPerMTok: e.LLM_PRICE_OUTPUT_PER_MTOK,
      rateLimitPerMinute: e.LLM_RATE_LIMIT_PER_MINUTE,
      timeoutMs: e.LLM_TIMEOUT_MS,
      maxOutputTokens: e.LLM_MAX_OUTPUT_TOKENS,
    },
    realtime: e.OPENAI_REALTIME_URL ? { url: e.OPENAI_REALTIME_URL, apiKey: e.OPENAI_API_KEY, model: e.OPENAI_REALTIME_MODEL } : undefined,
    heartbeat: {
      intervalMinutes: e.HEARTBEAT_INTERVAL_MINUTES,
      defaultTimezone: e.DEFAULT_TIMEZONE,
      defaultActiveHours: { start: ahStart, end: ahEnd },
      dailyCap: e.PROACTIVE_DAILY_CAP,
    },
  };
}

/** The README's configuration table, generated from ENV. */
export function envTableMarkdown(): string {
  const rows = Object.entries(ENV).map(([name, v]) => `| \`${name}\` | ${v.doc}${v.secret ? " (secret)" : ""} |`);
  return ["| variable | meaning |", "|---|---|", ...rows].join("\n");
}
