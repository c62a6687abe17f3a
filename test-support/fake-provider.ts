import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Channel } from "@concierge/protocol";
import { SendError, type ChannelAdapter, type OutboundRow } from "../control-plane/src/outbox/types";

/**
 * A local HTTP server standing in for a messaging provider: POST /messages {to, body, ref} answers
 * {id}. It records every request it accepted, so tests can count sends (and duplicates) exactly,
 * and can be told to fail the next N requests with a status (429 with Retry-After, 500, 400).
 */
export interface ProviderSend {
  to: string;
  body: string;
  /** The outbox row id the adapter sent along (an idempotency reference). */
  ref: string;
  id: string;
  at: number;
}

export class FakeProvider {
  /** Deliveries: what the user would see. */
  readonly sends: ProviderSend[] = [];
  /** Requests that repeated an Idempotency-Key already delivered (answered with the first id, not delivered again). */
  replays = 0;
  private readonly byKey = new Map<string, string>();
  private server?: Server;
  private failures: { status: number; retryAfter?: number }[] = [];
  private n = 0;
  /** Provider ids are unique across instances, like real message ids. */
  private readonly prefix = randomBytes(4).toString("hex");
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const fail = this.failures.shift();
        if (fail) {
          if (fail.retryAfter !== undefined) res.setHeader("retry-after", String(fail.retryAfter));
          res.writeHead(fail.status, { "content-type": "application/json" }).end(JSON.stringify({ error: `status ${fail.status}` }));
          return;
        }
        let body: { to?: string; body?: string; ref?: string };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          res.writeHead(400).end();
          return;
        }
        const key = req.headers["idempotency-key"];
        if (typeof key === "string" && this.byKey.has(key)) {
          this.replays++;
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: this.byKey.get(key) }));
          return;
        }
        const id = `prov-${this.prefix}-${++this.n}`;
        if (typeof key === "string") this.byKey.set(key, id);
        this.sends.push({ to: String(body.to), body: String(body.body), ref: String(body.ref), id, at: Date.now() });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  failNext(status: number, count = 1, retryAfter?: number): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, retryAfter });
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** A channel adapter that sends over HTTP to a FakeProvider, mapping statuses the way real adapters do. */
export function fakeProviderAdapter(baseUrl: string, channel: Channel = "whatsapp"): ChannelAdapter {
  return {
    channel,
    async send(row: OutboundRow, user) {
      let res: Response;
      try {
        res = await fetch(`${baseUrl}/messages`, {
          method: "POST",
          // The outbox row id as idempotency key: a send repeated after a crash (lease expired after
          // the provider accepted it) is recognised where the provider supports such keys.
          headers: { "content-type": "application/json", "idempotency-key": row.id },
          body: JSON.stringify({ to: user.waId ?? user.phone ?? user.id, body: row.body, ref: row.id }),
          signal: AbortSignal.timeout(5000),
        });
      } catch (err) {
        throw new SendError(`provider unreachable: ${(err as Error).message}`, true, "network");
      }
      if (res.status === 429) {
        const after = Number(res.headers.get("retry-after") ?? "1");
        throw new SendError("rate limited", true, "rate_limited", after * 1000);
      }
      if (res.status >= 500) throw new SendError(`provider error ${res.status}`, true, `http_${res.status}`);
      if (res.status >= 400) throw new SendError(`provider refused ${res.status}`, false, `http_${res.status}`);
      const json = (await res.json()) as { id: string };
      return { providerId: json.id };
    },
  };
}
