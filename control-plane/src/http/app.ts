import express, { type ErrorRequestHandler, type Express, type Router } from "express";
import type { Registry } from "prom-client";
import type { Logger } from "../logger";
import { AppError } from "../errors";
import { safeEqual } from "../sandboxes/token";
import { problem } from "./problem";

export interface AppOptions {
  logger: Logger;
  /** GET /metrics; absent on the sandbox listener. */
  metrics?: Registry;
  /** Bearer token GET /metrics requires (METRICS_TOKEN, else the admin token); unset: open (tests). */
  metricsToken?: string;
  /** Readiness: the database answers and its migrations are applied. Absent: no health routes. */
  isReady?: () => Promise<boolean>;
  /** Mounted in order. Each router parses its own bodies: webhooks need the raw bytes. */
  routers: { path: string; router: Router }[];
}

/** The express app: thin routes that parse, verify and hand over. */
export function createApp(opts: AppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", "loopback");
  const log = opts.logger.child({ component: "http" });

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The path only: query strings can carry tokens (hub.verify_token).
      log.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, "request");
    });
    next();
  });

  const { isReady, metrics, metricsToken } = opts;
  if (isReady) {
    app.get("/healthz", (_req, res) => {
      res.json({ ok: true });
    });
    app.get("/readyz", async (_req, res) => {
      const ready = await isReady().catch(() => false);
      res.status(ready ? 200 : 503).json({ ok: ready });
    });
  }
  if (metrics) {
    app.get("/metrics", async (req, res) => {
      // Metrics name users' activity and the deployment's shape: only the scraper reads them.
      const given = /^Bearer (.+)$/i.exec(req.get("authorization") ?? "")?.[1];
      if (metricsToken !== undefined && !(given !== undefined && safeEqual(given, metricsToken))) {
        res.set("www-authenticate", 'Bearer realm="metrics"');
        problem(res, 401, "unauthorized", "GET /metrics needs Authorization: Bearer <METRICS_TOKEN, or the admin token>");
        return;
      }
      res.set("content-type", metrics.contentType);
      res.send(await metrics.metrics());
    });
  }

  for (const { path, router } of opts.routers) app.use(path, router);

  app.use((_req, res) => {
    problem(res, 404, "not_found", "no such route");
  });
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    if (err instanceof AppError) {
      res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
      return;
    }
    // body-parser errors carry a status (400 malformed, 413 too large).
    const status = typeof err?.status === "number" && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log.error({ err, path: req.path }, "unhandled error");
    res.status(status).json({ error: { code: status === 500 ? "internal" : err.type ?? "bad_request", message: status === 500 ? "internal error" : err.message } });
  };
  app.use(onError);
  return app;
}
