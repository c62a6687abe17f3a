import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { Registry } from "prom-client";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { createZoomChannel, signZoomPayload, type ZoomChannel, type ZoomChannelOptions } from "../src/channels/zoom";
import type { Clock } from "../src/clock";
import { systemClock } from "../src/clock";
import { rows, type DriverName } from "../src/db/database";
import { createAdminRouter } from "../src/admin/admin-router";
import { createApp } from "../src/http/app";
import { Inbox } from "../src/inbox/inbox";
import { createLogger } from "../src/logger";

export const SECRET = "zoom-webhook-secret-token-0123";
export const CLIENT_ID = "zoomClientId123";
export const CLIENT_SECRET = "zoom-client-secret-abcdef";
export const ADMIN = "zoom-test-admin-token-0123456789";

/**
 * The Zoom channel as main.ts builds it, on a real database, a real HTTP server and the real inbox.
 * The agent side is whatever the test passes (the dispatcher is not started here).
 */
export interface ZoomWorld {
  t: TestDatabase;
  url: string;
  channel: ZoomChannel;
  post(body: unknown, o?: { secret?: string; ts?: number; headers?: Record<string, string>; raw?: string }): Promise<Response>;
  q<T = Record<string, unknown>>(query: ReturnType<typeof sql>): Promise<T[]>;
  /** Inbox events, oldest first. */
  events(): Promise<{ kind: string; channel: string; userId: string; providerId: string; payload: Record<string, any> }[]>;
  createUser(values: { id: string; zoomUserId?: string; email?: string; waId?: string }): Promise<void>;
  stop(): Promise<void>;
}

export async function startZoomWorld(
  driver: DriverName | undefined,
  opts: { clock?: Clock; rtms?: ZoomChannelOptions["rtms"]; clientCredentials?: boolean; t?: TestDatabase } = {},
): Promise<ZoomWorld> {
  const t = opts.t ?? (await createTestDatabase(driver));
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const clock = opts.clock ?? systemClock;
  const channel = createZoomChannel({
    config: { zoom: { webhookSecretToken: SECRET, ...(opts.clientCredentials === false ? {} : { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }) } },
    database: t.database,
    inbox: new Inbox(),
    agent: { call: async () => Promise.reject(new Error("no agent in this test")) },
    logger,
    clock,
    rtms: opts.rtms,
  });
  const app = createApp({
    logger,
    metrics: new Registry(),
    isReady: async () => true,
    routers: [...(channel.routes ?? []), { path: "/sandbox", router: createAdminRouter({ adminToken: ADMIN, routes: channel.adminRoutes ? [channel.adminRoutes] : [] }) }],
  });
  const server: Server = createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  await channel.start?.({ server });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const q = <T,>(query: ReturnType<typeof sql>) => rows<T>(t.database.db, query);
  return {
    t,
    url,
    channel,
    q,
    async post(body, o = {}) {
      const raw = o.raw ?? JSON.stringify(body);
      const ts = o.ts ?? Math.floor(clock.now().getTime() / 1000);
      const headers = { "content-type": "application/json; charset=utf-8", ...signZoomPayload(raw, o.secret ?? SECRET, ts), ...o.headers };
      return fetch(`${url}/zoom/webhook`, { method: "POST", headers, body: raw });
    },
    async events() {
      const r = await q<Record<string, any>>(sql`SELECT kind, channel, user_id, provider_id, payload FROM inbox_events ORDER BY created_at, seq`);
      return r.map((x) => ({ kind: x.kind, channel: x.channel, userId: x.user_id, providerId: x.provider_id, payload: x.payload }));
    },
    async createUser(v) {
      await t.database.db.execute(sql`INSERT INTO users (id, zoom_user_id, email, wa_id, phone) VALUES (${v.id}, ${v.zoomUserId ?? null}, ${v.email ?? null}, ${v.waId ?? null}, ${v.waId ?? null})`);
    },
    async stop() {
      await channel.stop?.();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      if (!opts.t) await t.cleanup();
    },
  };
}

export { waitFor } from "../../test-support/wait-for";

/** Zoom's meeting webhook bodies, as Zoom documents them (ids and times made up). */
export function meetingEvent(event: string, o: { uuid: string; hostId: string; topic?: string; eventTs: number; participant?: { user_name: string; email?: string } }) {
  return {
    event,
    event_ts: o.eventTs,
    payload: {
      account_id: "AAAAAABBBB",
      object: {
        id: "85613210457",
        uuid: o.uuid,
        host_id: o.hostId,
        topic: o.topic ?? "Weekly sync",
        type: 2,
        start_time: "2026-11-21T10:00:00Z",
        ...(event === "meeting.ended" ? { end_time: "2026-11-21T10:30:00Z" } : {}),
        timezone: "UTC",
        duration: 30,
        ...(o.participant ? { participant: { user_id: "16778240", id: "p-1", participant_uuid: "pu-1", join_time: "2026-11-21T10:01:00Z", ...o.participant } } : {}),
      },
    },
  };
}

export function rtmsEvent(event: string, o: { uuid: string; streamId: string; serverUrls?: string; operatorId?: string; eventTs: number }) {
  return {
    event,
    event_ts: o.eventTs,
    payload: {
      meeting_uuid: o.uuid,
      operator_id: o.operatorId ?? "",
      rtms_stream_id: o.streamId,
      ...(o.serverUrls ? { server_urls: o.serverUrls } : {}),
    },
  };
}
