import express, { type ErrorRequestHandler, type Express, type Router } from "express";
import type { Registry } from "prom-client";
import type { Logger } from "../logger";
import { AppError } from "../errors";
import { problem } from "./problem";

export interface AppOptions {
  logger: Logger;
  metrics: Registry;
  /** Readiness: the database answers and its migrations are applied. */
  isReady: () => Promise<boolean>;
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

  app.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/readyz", async (_req, res) => {
    const ready = await opts.isReady().catch(() => false);
    res.status(ready ? 200 : 503).json({ ok: ready });
  });
  app.get("/metrics", async (_req, res) => {
    res.set("content-type", opts.metrics.contentType);
    res.send(await opts.metrics.metrics());
  });

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
