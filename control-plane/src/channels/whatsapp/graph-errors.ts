import { SendError } from "../../outbox/types";

/**
 * Every way a Graph API call can fail, mapped from the HTTP status and Meta's error code in ONE
 * place (graphErrorFrom). Meta's error body: {"error":{"message","type","code","error_subcode",
 * "error_data":{"messaging_product","details"},"fbtrace_id"}}.
 */
export class GraphApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when no response arrived (network error, timeout). */
    public readonly status: number,
    /** Meta's numeric error code, when the body had one. */
    public readonly metaCode: number | undefined,
    public readonly retryable: boolean,
    public readonly retryAfterMs?: number,
    public readonly details?: string,
    public readonly fbtraceId?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
  /** A stable code for rows and logs: Meta's code when known, else http_<status>. */
  get code(): string {
    return this.metaCode !== undefined ? String(this.metaCode) : this.status === 0 ? "network" : `http_${this.status}`;
  }
}

/** 429, 130429 (throughput), 131056 (pair rate), 80007, 4: slow down and try again. */
export class GraphRateLimitError extends GraphApiError {}
/** 5xx, and Meta's temporary codes (1, 2, 131000, 131016): try again. */
export class GraphUnavailableError extends GraphApiError {}
/** No answer at all: connection refused, reset, or timed out. */
export class GraphNetworkError extends GraphApiError {}
/** 131047: the 24-hour customer-service window is closed; only a template may be sent. */
export class GraphOutsideWindowError extends GraphApiError {}
/** 131026: the recipient cannot receive this message (no WhatsApp, old version, blocked). */
export class GraphUndeliverableError extends GraphApiError {}
/** 401 / code 190: the access token is wrong or expired. Retrying will not help. */
export class GraphAuthError extends GraphApiError {}
/** Any other 4xx: the request itself is wrong and will stay wrong. */
export class GraphRequestError extends GraphApiError {}

export const META_CODES = {
  outsideWindow: 131047,
  undeliverable: 131026,
  throughput: 130429,
  pairRateLimit: 131056,
  expiredToken: 190,
} as const;

const RATE_LIMIT_CODES = new Set([4, 80007, 130429, 131048, 131056]);
const TEMPORARY_CODES = new Set([1, 2, 131000, 131016]);

interface MetaErrorBody {
  error?: { message?: unknown; code?: unknown; error_subcode?: unknown; error_data?: { details?: unknown }; fbtrace_id?: unknown; error_user_msg?: unknown };
}

/** Retry-After is seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The one mapping from an HTTP failure to a typed error. */
export function graphErrorFrom(status: number, body: unknown, retryAfter?: string | null): GraphApiError {
  const e = (body && typeof body === "object" ? (body as MetaErrorBody).error : undefined) ?? {};
  const metaCode = typeof e.code === "number" ? e.code : typeof e.code === "string" && /^\d+$/.test(e.code) ? Number(e.code) : undefined;
  const details = typeof e.error_data?.details === "string" ? e.error_data.details : undefined;
  const fbtrace = typeof e.fbtrace_id === "string" ? e.fbtrace_id : undefined;
  const text = typeof e.message === "string" && e.message ? e.message : `Graph API answered HTTP ${status}`;
  const message = details ? `${text}: ${details}` : text;
  const after = parseRetryAfter(retryAfter);

  if (status === 429 || (metaCode !== undefined && RATE_LIMIT_CODES.has(metaCode))) {
    return new GraphRateLimitError(message, status, metaCode, true, after, details, fbtrace);
  }
  if (metaCode === META_CODES.outsideWindow) return new GraphOutsideWindowError(message, status, metaCode, false, undefined, details, fbtrace);
  if (metaCode === META_CODES.undeliverable) return new GraphUndeliverableError(message, status, metaCode, false, undefined, details, fbtrace);
  if (status === 401 || metaCode === META_CODES.expiredToken) return new GraphAuthError(message, status, metaCode, false, undefined, details, fbtrace);
  if (status >= 500 || (metaCode !== undefined && TEMPORARY_CODES.has(metaCode))) {
    return new GraphUnavailableError(message, status, metaCode, true, after, details, fbtrace);
  }
  return new GraphRequestError(message, status, metaCode, false, undefined, details, fbtrace);
}

/** What the outbox needs to know: retry later or give up, with a code for the messages row. */
export function toSendError(err: unknown): SendError {
  if (err instanceof SendError) return err;
  if (err instanceof GraphApiError) return new SendError(err.message, err.retryable, err.code, err.retryAfterMs);
  return new SendError(err instanceof Error ? err.message : String(err), true, "unknown");
}
