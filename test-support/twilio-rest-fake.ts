import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local server for the part of Twilio's REST API the control plane calls: creating a call
 * (POST /2010-04-01/Accounts/{AccountSid}/Calls.json, form-encoded, Basic auth with the account
 * SID and auth token). Answers with Twilio's call resource shape, or its error shape.
 */
export interface CreatedCall {
  accountSid: string;
  params: Record<string, string | string[]>;
  sid: string;
}

export class FakeTwilioRest {
  private server?: Server;
  readonly calls: CreatedCall[] = [];
  /** When set, the next create answers with this HTTP status and Twilio's error body. */
  failNext?: { status: number; code: number; message: string };
  private n = 0;

  constructor(
    private readonly accountSid: string,
    private readonly authToken: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const send = (status: number, json: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(json));
        };
        const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/.exec(req.url ?? "");
        if (!m || req.method !== "POST") return send(404, { code: 20404, message: "The requested resource was not found", status: 404 });
        const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString("base64")}`;
        if (req.headers.authorization !== expected || m[1] !== this.accountSid) {
          return send(401, { code: 20003, message: "Authenticate", more_info: "https://www.twilio.com/docs/errors/20003", status: 401 });
        }
        if (this.failNext) {
          const f = this.failNext;
          this.failNext = undefined;
          return send(f.status, { code: f.code, message: f.message, more_info: `https://www.twilio.com/docs/errors/${f.code}`, status: f.status });
        }
        const params: Record<string, string | string[]> = {};
        for (const [k, v] of new URLSearchParams(body)) {
          const prev = params[k];
          params[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        const sid = `CA${String(++this.n).padStart(32, "0")}`;
        this.calls.push({ accountSid: m[1]!, params, sid });
        const now = new Date().toUTCString();
        send(201, {
          sid,
          account_sid: this.accountSid,
          to: params.To,
          to_formatted: params.To,
          from: params.From,
          from_formatted: params.From,
          status: "queued",
          direction: "outbound-api",
          api_version: "2010-04-01",
          date_created: now,
          date_updated: now,
          uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${sid}.json`,
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
