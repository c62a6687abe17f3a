import { and, count, eq, gt } from "drizzle-orm";
import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient";
import type TwilioResponse from "twilio/lib/http/response";
import type { Clock } from "../../clock";
import type { Database } from "../../db/database";
import { calls } from "../../db/schema";
import type { Logger } from "../../logger";
import type { CallStore } from "./call-store";
import { toE164 } from "./phone";
import { announceTwiml } from "./twiml";

/** Typed failure of an outbound call; retryable when Twilio was busy or unreachable. */
export class OutboundCallError extends Error {
  constructor(
    message: string,
    public readonly retryable: boolean,
    public readonly status?: number,
  ) {
    super(message);
    this.name = "OutboundCallError";
  }
}

/**
 * The user already had URGENT_CALLS_PER_DAY reminder calls in the last 24 hours (audit 15.17):
 * the reminder goes to WhatsApp only. Not retryable.
 */
export class CallCapReachedError extends OutboundCallError {
  constructor(userId: string, cap: number) {
    super(`user ${userId} had ${cap} reminder calls in the last 24 hours`, false);
    this.name = "CallCapReachedError";
  }
}

/**
 * The twilio client always builds https://api.twilio.com/... URLs; this http client moves each
 * request onto TWILIO_API_BASE_URL (same path), so a local server speaking Twilio's REST API can
 * stand in for it. Everything else (auth, form encoding, error mapping) stays the library's.
 */
type RequestOptions<T> = RequestClient.RequestOptions<T>;

class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string) {
    super({ timeout: 15_000 });
  }

  override request<TData>(opts: RequestOptions<TData>): Promise<TwilioResponse<TData>> {
    const from = new URL(opts.uri);
    const to = new URL(this.baseUrl);
    const uri = `${to.origin}${to.pathname.replace(/\/+$/, "")}${from.pathname}${from.search}`;
    return super.request<TData>({ ...opts, uri });
  }
}

export interface OutboundCallerOptions {
  accountSid: string;
  authToken: string;
  /** Caller id: the assistant's own number. */
  phoneNumber: string;
  apiBaseUrl: string;
  publicBaseUrl: string;
  database: Database;
  store: CallStore;
  logger: Logger;
  clock: Clock;
  /** Most reminder calls per user in any 24 hours (URGENT_CALLS_PER_DAY). */
  callsPerDay: number;
}

/** Places reminder calls through the Twilio REST API. */
export class OutboundCaller {
  private readonly client: twilio.Twilio;
  private readonly log: Logger;

  constructor(private readonly opts: OutboundCallerOptions) {
    this.client = twilio(opts.accountSid, opts.authToken, { httpClient: new BaseUrlRequestClient(opts.apiBaseUrl) });
    this.log = opts.logger.child({ component: "voice-outbound" });
  }

  /** The scheduler's hook for urgent reminders: rings the user and reads `text`. */
  async placeCall(userId: string, text: string): Promise<{ callSid: string }> {
    const { database, store } = this.opts;
    const digits = await store.userPhone(database.db, userId);
    if (!digits) throw new OutboundCallError(`user ${userId} has no phone number`, false);
    // The user's alarms run one at a time in their queue, so counting first cannot race itself.
    const since = new Date(this.opts.clock.now().getTime() - 24 * 60 * 60_000);
    const [placed] = await database.db
      .select({ n: count() })
      .from(calls)
      .where(and(eq(calls.userId, userId), eq(calls.direction, "outbound"), eq(calls.mode, "announce"), gt(calls.createdAt, since)));
    if ((placed?.n ?? 0) >= this.opts.callsPerDay) {
      this.log.warn({ userId, placed: placed?.n, cap: this.opts.callsPerDay }, "reminder call cap reached; this urgent reminder goes to WhatsApp only");
      throw new CallCapReachedError(userId, this.opts.callsPerDay);
    }
    let call;
    try {
      call = await this.client.calls.create({
        to: toE164(digits),
        from: this.opts.phoneNumber,
        twiml: announceTwiml(text),
        statusCallback: `${this.opts.publicBaseUrl.replace(/\/+$/, "")}/voice/webhook/call-status`,
        statusCallbackEvent: ["completed"],
        statusCallbackMethod: "POST",
      });
    } catch (err) {
      const status = typeof (err as { status?: unknown }).status === "number" ? (err as { status: number }).status : undefined;
      const retryable = status === undefined || status === 429 || status >= 500;
      this.log.warn({ userId, status, retryable }, "Twilio refused an outbound call");
      throw new OutboundCallError(`Twilio refused the call${status ? ` (HTTP ${status})` : ""}`, retryable, status);
    }
    await store.ensureCall(database.db, { sid: call.sid, userId, direction: "outbound", mode: "announce", status: call.status ?? "queued", trust: "attested" });
    this.log.info({ userId, callSid: call.sid }, "reminder call placed");
    return { callSid: call.sid };
  }
}
