import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Router, type Response } from "express";

/**
 * GET /admin: the operator dashboard, one static page and a small hand-written script (assets/),
 * with no build step and no framework. The page holds no data and no secret: it asks for the admin
 * token once, keeps it in sessionStorage, and sends it as a bearer token on every API call
 * (/sandbox/*, /admin/api/*), each of which refuses a request without it.
 */
const ASSETS: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** Assets live beside the source; the compiled file in dist/ finds them in src/ (the Dockerfile copies both). */
export function dashboardAssetsDir(): string {
  const candidates = [path.join(__dirname, "assets"), path.resolve(__dirname, "../../../src/admin/dashboard/assets")];
  const found = candidates.find((dir) => existsSync(path.join(dir, "index.html")));
  if (!found) throw new Error(`dashboard assets not found in ${candidates.join(" or ")}`);
  return found;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function secure(res: Response): Response {
  return res
    .set("content-security-policy", CSP)
    .set("x-content-type-options", "nosniff")
    .set("referrer-policy", "no-referrer")
    .set("x-frame-options", "DENY");
}

export function createDashboardRouter(opts: { assetsDir?: string } = {}): Router {
  const dir = opts.assetsDir ?? dashboardAssetsDir();
  // Read once: a handful of small files, served from memory.
  const index = readFileSync(path.join(dir, "index.html"));
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(path.join(dir, name))]));
  const router = Router();

  router.get(["/", "/index.html"], (_req, res) => {
    secure(res).set("cache-control", "no-store").type("text/html; charset=utf-8").send(index);
  });
  router.get("/assets/:name", (req, res, next) => {
    const name = String(req.params.name);
    const body = assets.get(name);
    if (!body) return next();
    secure(res).set("cache-control", "no-cache").type(ASSETS[name]!).send(body);
  });
  return router;
}
