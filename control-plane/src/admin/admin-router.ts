import { Router } from "express";
import { requireAdmin } from "./auth";
import { sandboxOpenApi } from "./openapi";

export interface AdminRouterOptions {
  adminToken: string;
  /**
   * The operator's sub-routers, tried in this order behind one admin check. Each parses its own
   * bodies. Specific paths (/usage, /users/:userId/...) come before the sandbox routes, whose
   * GET /:key would otherwise take "usage" for a user.
   */
  routes: Router[];
}

/** /sandbox: the whole admin API. Only its description is public (it holds no data). */
export function createAdminRouter(o: AdminRouterOptions): Router {
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    res.json(sandboxOpenApi());
  });
  router.use(requireAdmin(o.adminToken));
  for (const r of o.routes) router.use(r);
  return router;
}
