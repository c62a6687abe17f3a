import type { Router } from "express";
import type { Registry } from "prom-client";
import type { Clock } from "../../clock";
import type { Config } from "../../config";
import type { Db } from "../../db/database";
import type { Logger } from "../../logger";
import { WhatsAppAdapter } from "./adapter";
import { GraphApiClient } from "./graph-client";
import { releaseHeldMessages } from "./held-messages";
import { InboundRecorder, type InboxWriter, type OutboxWriter } from "./inbound";
import { withWhatsApp, type MessageHandler } from "./message-handler";
import { StatusProcessor } from "./status-processor";
import { OpenAICompatibleTranscriber, type Transcriber } from "./transcriber";
import { WhatsAppTurnPreparer } from "./turn-preparer";
import { createWhatsAppRouter } from "./webhook-router";

export interface WhatsAppChannelOptions {
  config: Pick<Config, "whatsapp" | "whatsappApiBaseUrl" | "whatsappOutsideWindow" | "whatsappTemplate" | "heartbeat">;
  db: Db;
  inbox: InboxWriter;
  outbox: OutboxWriter;
  logger: Logger;
  metrics?: Registry;
  clock: Clock;
  /** Voice notes: usually transcriberViaGateway(...); without one the agent is told it cannot listen. */
  transcriber?: Transcriber;
  /** Overrides config.whatsappApiBaseUrl with a base known only after listen (the local sink). */
  graphBaseUrl?: () => string;
}

export interface WhatsAppChannel {
  /** Mount at /whatsapp. Answers 503 when WhatsApp is not configured. */
  router: Router;
  /** Register with the outbox (undefined when not configured: WhatsApp rows then wait). */
  adapter?: WhatsAppAdapter;
  /** Wraps the dispatcher's "message" handler: typing, transcription, splitting. */
  wrapMessageHandler<C>(inner: MessageHandler<C>): MessageHandler<C>;
}

/** Builds the whole channel from config: the one place main.ts calls. */
export function createWhatsAppChannel(opts: WhatsAppChannelOptions): WhatsAppChannel {
  const { config, db, clock, logger } = opts;
  const wa = config.whatsapp;
  if (!wa) {
    logger.info({ component: "whatsapp" }, "WhatsApp is not configured; /whatsapp answers 503");
    return { router: createWhatsAppRouter({ logger, metrics: opts.metrics }), wrapMessageHandler: (inner) => withWhatsApp(inner) };
  }
  const graph = new GraphApiClient({ baseUrl: opts.graphBaseUrl ?? config.whatsappApiBaseUrl, phoneNumberId: wa.phoneNumberId, accessToken: wa.accessToken, logger, clock });
  const statuses = new StatusProcessor({ db, clock, logger, outsideWindow: config.whatsappOutsideWindow, template: config.whatsappTemplate, outbox: opts.outbox });
  const [activeHoursStart, activeHoursEnd] = [config.heartbeat.defaultActiveHours.start, config.heartbeat.defaultActiveHours.end];
  const recorder = new InboundRecorder({
    db,
    inbox: opts.inbox,
    outbox: opts.outbox,
    clock,
    logger,
    newUserDefaults: { timezone: config.heartbeat.defaultTimezone, activeHoursStart, activeHoursEnd },
    onUserWrote: async (tx, userId) => {
      await releaseHeldMessages(tx, userId, opts.outbox, clock.now());
    },
  });
  const adapter = new WhatsAppAdapter({
    graph,
    db,
    clock,
    logger,
    outsideWindow: config.whatsappOutsideWindow,
    template: config.whatsappTemplate,
    onSent: (wamid) => statuses.replay(wamid),
  });
  const preparer = new WhatsAppTurnPreparer({ graph, transcriber: opts.transcriber, clock, logger });
  return {
    router: createWhatsAppRouter({ credentials: { verifyToken: wa.verifyToken, appSecret: wa.appSecret }, phoneNumberId: wa.phoneNumberId, recorder, statuses, logger, metrics: opts.metrics }),
    adapter,
    wrapMessageHandler: (inner) => withWhatsApp(inner, preparer),
  };
}

/**
 * Transcription through the control plane's own LLM gateway, authenticated as the user's sandbox,
 * so a voice note is metered and budgeted to its user like the agent's own calls.
 */
export function transcriberViaGateway(opts: {
  /** The gateway's base, known once the server listens, e.g. () => `${url}/llm/v1`. */
  gatewayUrl: () => string;
  /**
   * The token of the user's running sandbox (the gateway accepts no other): main.ts ensures the
   * sandbox, which the turn needs a moment later anyway.
   */
  sandboxToken: (userId: string) => Promise<string | undefined>;
  logger: Logger;
  model?: string;
}): Transcriber {
  return new OpenAICompatibleTranscriber({
    baseUrl: opts.gatewayUrl,
    model: opts.model,
    logger: opts.logger,
    tokenFor: opts.sandboxToken,
  });
}
