import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient";
import type TwilioResponse from "twilio/lib/http/response";
import type { Database } from "../../db/database";
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
