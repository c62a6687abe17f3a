import type { Router } from "express";
import type { Registry } from "prom-client";
import type { Clock } from "../../clock";
import type { Config } from "../../config";
import type { Database, Executor } from "../../db/database";
import type { InboxHandler } from "../../inbox/dispatcher";
import type { AgentRequester, SandboxEnsurer } from "../../inbox/message-handler";
import type { NewInboundEvent } from "../../inbox/types";
import type { Logger } from "../../logger";
import { createZoomAdminRouter } from "./admin-router";
import { meetingHandler } from "./meeting-handler";
import { RtmsManager, type RtmsManagerOptions } from "./rtms-manager";
import { createZoomRouter } from "./webhook-router";
import { ZoomInbound } from "./zoom-inbound";
import { ZoomUsers } from "./zoom-users";

export { signZoomPayload, urlValidationResponse, verifyZoomSignature } from "./signature";
export { parseZoomEvent, meetingProviderId } from "./payload";
export { RtmsManager } from "./rtms-manager";
export { rtmsSignature, RtmsMsg } from "./rtms-protocol";
export { ZoomUsers } from "./zoom-users";
export { meetingHandler } from "./meeting-handler";

export interface ZoomChannelOptions {
  config: Pick<Config, "zoom">;
  database: Database;
  inbox: { enqueue(tx: Executor, event: NewInboundEvent): Promise<boolean> };
  sandboxes: SandboxEnsurer;
  connections: AgentRequester;
  logger: Logger;
  clock: Clock;
  metrics?: Registry;
  /** Overrides for tests (batch sizes, backoff, process id). */
  rtms?: Partial<Omit<RtmsManagerOptions, "database" | "inbox" | "clientId" | "clientSecret" | "logger" | "clock">>;
}

export interface ZoomChannel {
  /** Mount at /zoom: POST /webhook. */
  router: Router;
  /** Mount under /sandbox: PUT /users/:userId/zoom. */
  adminRouter(adminToken: string): Router;
  /** Register with the dispatcher: kind "meeting". */
  register(dispatcher: { handle(kind: "meeting", handler: InboxHandler): void }): void;
  /** Undefined without ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET. Start after the dispatcher; stop before it. */
  rtms?: RtmsManager;
  users: ZoomUsers;
}

/** The Zoom channel from config; routes answer 503 when ZOOM_WEBHOOK_SECRET_TOKEN is unset. */
export function createZoomChannel(o: ZoomChannelOptions): ZoomChannel {
  const users = new ZoomUsers({ database: o.database, logger: o.logger });
  const zoom = o.config.zoom;
  const rtms =
    zoom?.clientId && zoom.clientSecret
      ? new RtmsManager({ database: o.database, inbox: o.inbox, clientId: zoom.clientId, clientSecret: zoom.clientSecret, logger: o.logger, clock: o.clock, ...o.rtms })
      : undefined;
  const inbound = zoom ? new ZoomInbound({ database: o.database, inbox: o.inbox, users, rtms, logger: o.logger }) : undefined;
  return {
    router: createZoomRouter({ secretToken: zoom?.webhookSecretToken, inbound, clock: o.clock, logger: o.logger, metrics: o.metrics }),
    adminRouter: (adminToken) => createZoomAdminRouter({ users, adminToken }),
    register: (dispatcher) => dispatcher.handle("meeting", meetingHandler({ sandboxes: o.sandboxes, connections: o.connections })),
    rtms,
    users,
  };
}
