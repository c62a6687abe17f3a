import { Router } from "express";
import type { Registry } from "prom-client";
import { problem } from "../http/problem";
import type { Logger } from "../logger";
import { registryCounter } from "../metrics";

/** What every provider's webhook router takes beside its own credentials. */
export interface WebhookRouterBase {
  logger: Logger;
  metrics?: Registry;
  /** Largest webhook body accepted. */
  maxBodyBytes?: number;
}

/**
 * The start of a provider's webhook router: the router, its logger, and the outcome counter
 * concierge_<provider>_webhooks_total. Unconfigured (`notConfigured` set), POST and GET /webhook
 * answer 503 saying which variables to set.
 */
export function webhookRouter(
  o: WebhookRouterBase & { provider: "whatsapp" | "zoom"; title: string; notConfigured?: { code: string; message: string } },
): { router: Router; log: Logger; count: (outcome: string) => void } {
  const router = Router();
  const log = o.logger.child({ component: `${o.provider}-webhook` });
  const counter = o.metrics ? registryCounter(o.metrics, `concierge_${o.provider}_webhooks_total`, `${o.title} webhook requests by outcome`, ["outcome"]) : undefined;
  const missing = o.notConfigured;
  if (missing) {
    router.all("/webhook", (_req, res) => {
      problem(res, 503, missing.code, missing.message);
    });
  }
  return { router, log, count: (outcome) => counter?.inc({ outcome }) };
}
