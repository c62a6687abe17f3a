import type { Router } from "express";
import type { Db } from "../../db/database";
import type { Logger } from "../../logger";
import type { LocalGraphSink } from "../../channels/whatsapp/local-sink";
import type { SandboxService } from "../../sandboxes/sandbox-service";
import type { AgentRequester } from "../sandbox-routes";
import { createConsoleRouter } from "./console-router";
import { createDashboardRouter } from "./dashboard-router";
import { createUserReadsRouter } from "./user-reads-router";

export { userTimeline, type TimelineEntry } from "./timeline";
export { createDashboardRouter, dashboardAssetsDir } from "./dashboard-router";

export interface DashboardOptions {
  db: Db;
  service: SandboxService;
  agent: AgentRequester;
  adminToken: string;
  logger: Logger;
  /** The local WhatsApp sink, when main runs WhatsApp against it: enables the chat console. */
  sink?: LocalGraphSink;
}

/**
 * The dashboard's routers, for main.ts to mount: the page at /admin, the console's API at
 * /admin/api/console, and the user page's extra reads under /sandbox (mounted beside the other
 * /sandbox routers; their paths, /users/:id/..., do not collide with /sandbox/:key).
 */
export function createDashboard(opts: DashboardOptions): { path: string; router: Router }[] {
  return [
    { path: "/admin/api/console", router: createConsoleRouter({ db: opts.db, adminToken: opts.adminToken, logger: opts.logger, sink: opts.sink }) },
    { path: "/admin", router: createDashboardRouter() },
    { path: "/sandbox", router: createUserReadsRouter({ db: opts.db, service: opts.service, agent: opts.agent, adminToken: opts.adminToken }) },
  ];
}
