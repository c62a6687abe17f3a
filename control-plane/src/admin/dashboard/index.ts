import type { Router } from "express";
import type { AgentPort } from "../../agent-port";
import type { MountedRouter } from "../../channels/channel";
import type { Db } from "../../db/database";
import type { Logger } from "../../logger";
import type { LocalGraphSink } from "../../channels/whatsapp/local-sink";
import type { SandboxService } from "../../sandboxes/sandbox-service";
import { createConsoleRouter } from "./console-router";
import { createDashboardRouter } from "./dashboard-router";
import { createUserReadsRouter } from "./user-reads-router";

export { userTimeline, type TimelineEntry } from "./timeline";
export { createDashboardRouter, dashboardAssetsDir } from "./dashboard-router";

export interface DashboardOptions {
  db: Db;
  service: SandboxService;
  agent: AgentPort;
  adminToken: string;
  logger: Logger;
  /** The local WhatsApp sink, when main runs WhatsApp against it: enables the chat console. */
  sink?: LocalGraphSink;
}

/**
 * The dashboard's routers, for main.ts to mount: the page at /admin and the console's API at
 * /admin/api/console (`routes`), and the user page's extra reads for the /sandbox admin router
 * (`adminRoutes`: /users/:id/..., which do not collide with /sandbox/:key).
 */
export function createDashboard(opts: DashboardOptions): { routes: MountedRouter[]; adminRoutes: Router } {
  return {
    routes: [
      { path: "/admin/api/console", router: createConsoleRouter({ db: opts.db, adminToken: opts.adminToken, logger: opts.logger, sink: opts.sink }) },
      { path: "/admin", router: createDashboardRouter() },
    ],
    adminRoutes: createUserReadsRouter({ db: opts.db, service: opts.service, agent: opts.agent }),
  };
}
