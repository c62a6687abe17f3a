import type { Registry } from "prom-client";
import type { AgentPort } from "../../agent-port";
import type { Clock } from "../../clock";
import type { Config } from "../../config";
import type { Database } from "../../db/database";
import type { Logger } from "../../logger";
import type { Channel } from "../channel";
import { createZoomAdminRouter } from "./admin-router";
import { meetingHandler } from "./meeting-handler";
import { RtmsManager, type RtmsManagerOptions } from "./rtms-manager";
import { createZoomRouter } from "./webhook-router";
import { ZoomInbound } from "./zoom-inbound";
import { ZoomUsers } from "./zoom-users";
import type { InboxPort } from "../channel";

export { signZoomPayload, urlValidationResponse, verifyZoomSignature } from "./signature";
export { parseZoomEvent, meetingProviderId } from "./payload";
export { RtmsManager } from "./rtms-manager";
export { rtmsSignature, RtmsMsg } from "./rtms-protocol";
export { ZoomUsers } from "./zoom-users";
export { meetingHandler } from "./meeting-handler";

export interface ZoomChannelOptions {
  config: Pick<Config, "zoom">;
  database: Database;
  inbox: InboxPort;
  agent: Pick<AgentPort, "call">;
  logger: Logger;
  clock: Clock;
  metrics?: Registry;
  /** Overrides for tests (batch sizes, backoff, process id). */
  rtms?: Partial<Omit<RtmsManagerOptions, "database" | "inbox" | "clientId" | "clientSecret" | "logger" | "clock">>;
}

/**
 * Signed webhooks at /zoom; meeting events and batched RTMS transcripts become "meeting" inbox
 * events for the host's agent, whose end-of-meeting summary goes to WhatsApp. Only the operator
 * links a Zoom identity (PUT /sandbox/users/:userId/zoom), never an agent event.
 */
export interface ZoomChannel extends Channel {
  /** Undefined without ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET. Started after the dispatcher; stopped before it. */
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
    name: "zoom",
    // Always on: without ZOOM_WEBHOOK_SECRET_TOKEN its webhook says so (503), and links can be set ahead.
    enabled: true,
    routes: [{ path: "/zoom", router: createZoomRouter({ secretToken: zoom?.webhookSecretToken, inbound, clock: o.clock, logger: o.logger, metrics: o.metrics }) }],
    adminRoutes: createZoomAdminRouter({ users }),
    handlers: { meeting: meetingHandler({ agent: o.agent }) },
    // Stopping closes the streams first, queues their last transcript batches and releases their
    // leases so another replica can take them over.
    start: rtms ? () => rtms.start() : undefined,
    stop: rtms ? () => rtms.stop() : undefined,
    rtms,
    users,
  };
}
