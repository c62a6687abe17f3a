import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Secrets are removed by the logger's configuration, not by remembering to leave them out: any
 * field with one of these names, at the top level or one or two levels down, is censored.
 */
const SECRET_KEYS = [
  "authorization",
  "Authorization",
  "cookie",
  "x-hub-signature-256",
  "x-twilio-signature",
  "x-zm-signature",
  "token",
  "accessToken",
  "adminToken",
  "apiKey",
  "appSecret",
  "authToken",
  "clientSecret",
  "password",
  "privateKeyPem",
  "secret",
  "webhookSecretToken",
  "verifyToken",
  "databaseUrl",
  "DATABASE_URL",
  "ADMIN_TOKEN",
  "WHATSAPP_VERIFY_TOKEN",
  "WHATSAPP_APP_SECRET",
  "WHATSAPP_ACCESS_TOKEN",
  "TWILIO_AUTH_TOKEN",
  "ZOOM_WEBHOOK_SECRET_TOKEN",
  "ZOOM_CLIENT_SECRET",
  "LLM_API_KEY",
  "OPENAI_API_KEY",
  "SANDBOX_TOKEN",
];

export function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) {
    const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const join = (prefix: string) => (k.startsWith("[") ? `${prefix}${k}` : `${prefix}.${k}`);
    paths.push(k, join("*"), join("*.*"), join("req.headers"));
  }
  return paths;
}

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? "info",
      base: { service: "control-plane" },
      redact: { paths: redactPaths(), censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}
