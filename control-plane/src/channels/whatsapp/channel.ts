import type { Registry } from "prom-client";
import type { AgentPort } from "../../agent-port";
import type { Clock } from "../../clock";
import type { Config } from "../../config";
import type { Db } from "../../db/database";
import type { Logger } from "../../logger";
import type { Channel, InboxPort, OutboxPort } from "../channel";
import { WhatsAppAdapter } from "./adapter";
import { GraphApiClient, type GraphClientOptions } from "./graph-client";
import { InboundRecorder } from "./inbound";
import { LocalGraphSink } from "./local-sink";
import { resolveLocalWhatsAppCredentials } from "./local-sink-credentials";
import { StatusProcessor } from "./status-processor";
import { OpenAICompatibleTranscriber, type Transcriber } from "./transcriber";
import { whatsAppTurn, type WhatsAppCommands } from "./turn";
import { WhatsAppTurnPreparer } from "./turn-preparer";
import { createWhatsAppRouter } from "./webhook-router";

export interface WhatsAppChannelOptions {
  config: Pick<Config, "whatsapp" | "whatsappApiBaseUrl" | "whatsappOutsideWindow" | "whatsappTemplate" | "heartbeat">;
  db: Db;
  inbox: InboxPort;
  outbox: OutboxPort;
  logger: Logger;
  metrics?: Registry;
  clock: Clock;
  /** The turn's chat.send, and the sandbox token a voice note is transcribed with. */
  agent: Pick<AgentPort, "call" | "token">;
  /**
   * The LLM gateway's base, known once it listens: voice notes are transcribed through it as the
   * user's sandbox, so they are metered to them. Without it the agent is told it cannot listen.
   */
  gatewayUrl?: () => string;
  /** The control plane's own commands, answered before the agent (the voice channel's). */
  commands?: WhatsAppCommands;
  /** Local mode: the built-in Graph API sink stands in for Meta (localWhatsAppSink). */
  local?: LocalWhatsApp;
  /** Tests: the Graph client's retry policy and clock (a ManualClock would hold its backoff). */
  graph?: Pick<GraphClientOptions, "retry" | "clock">;
}

export interface WhatsAppChannel extends Channel {
  /** Statuses (sent, delivered, read, failed) onto the messages rows; undefined when not configured. */
  statuses?: StatusProcessor;
  /** The local sink, when it stands in for Meta: the dashboard's chat console is its phone. */
  sink?: LocalGraphSink;
}

/**
 * The WhatsApp channel: signed webhooks in at /whatsapp, the turn as the "message" handler, Graph
 * API out through the outbox. Unconfigured (no WHATSAPP_* and no local sink), /whatsapp answers 503
 * and turns are chat.send alone.
 */
export function createWhatsAppChannel(opts: WhatsAppChannelOptions): WhatsAppChannel {
  const { config, db, clock, logger } = opts;
  const sink = opts.local?.sink;
  const wa = sink?.credentials ?? config.whatsapp;
  if (!wa) {
    logger.info({ component: "whatsapp" }, "WhatsApp is not configured; /whatsapp answers 503");
    return {
      name: "whatsapp",
      enabled: true,
      routes: [{ path: "/whatsapp", router: createWhatsAppRouter({ logger, metrics: opts.metrics }) }],
      handlers: { message: whatsAppTurn({ agent: opts.agent, commands: opts.commands }) },
    };
  }
  const graph = new GraphApiClient({
    baseUrl: opts.local?.graphBaseUrl ?? config.whatsappApiBaseUrl,
    phoneNumberId: wa.phoneNumberId,
    accessToken: wa.accessToken,
    logger,
    clock,
    ...opts.graph,
  });
  const statuses = new StatusProcessor({ db, clock, logger, outsideWindow: config.whatsappOutsideWindow, template: config.whatsappTemplate, outbox: opts.outbox });
  const [activeHoursStart, activeHoursEnd] = [config.heartbeat.defaultActiveHours.start, config.heartbeat.defaultActiveHours.end];
  const recorder = new InboundRecorder({
    db,
    inbox: opts.inbox,
    outbox: opts.outbox,
    clock,
    logger,
    newUserDefaults: { timezone: config.heartbeat.defaultTimezone, activeHoursStart, activeHoursEnd },
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
  // Only against Meta: the local sink has no media to fetch.
  const transcriber: Transcriber | undefined =
    config.whatsapp && opts.gatewayUrl ? new OpenAICompatibleTranscriber({ baseUrl: opts.gatewayUrl, logger, tokenFor: (userId) => opts.agent.token(userId) }) : undefined;
  const preparer = new WhatsAppTurnPreparer({ graph, transcriber, clock, logger });
  const router = createWhatsAppRouter({ credentials: { verifyToken: wa.verifyToken, appSecret: wa.appSecret }, phoneNumberId: wa.phoneNumberId, recorder, statuses, logger, metrics: opts.metrics });
  return {
    name: "whatsapp",
    enabled: true,
    routes: [{ path: "/whatsapp", router }, ...(sink ? [{ path: "/local-graph", router: sink.router() }] : [])],
    handlers: { message: whatsAppTurn({ agent: opts.agent, preparer, commands: opts.commands }) },
    adapter,
    statuses,
    sink,
    // The local sink is the user's phone in local mode: a deleted user's chat goes with them.
    onUserDeleted: sink
      ? (user) => {
          for (const number of [user.waId, user.phone]) if (number) sink.forgetUser(number);
        }
      : undefined,
    // Status webhooks the sink still owes our own server go out before HTTP closes.
    stop: sink ? () => sink.drain() : undefined,
  };
}

export interface LocalWhatsApp {
  sink: LocalGraphSink;
  /** Our own /local-graph, known once the server listens. */
  graphBaseUrl: () => string;
  /** Where its secrets are kept (none for DATA_DIR=:memory:). */
  credentialsFile?: string;
}

/**
 * Without WHATSAPP_* the channel runs unchanged against the built-in local Graph API sink
 * (/local-graph), with secrets generated once under DATA_DIR; the dashboard's chat console is the
 * user's phone. Undefined when Meta is configured.
 */
export async function localWhatsAppSink(o: {
  config: Pick<Config, "whatsapp" | "dataDir">;
  /** This server's own address, known once it listens. */
  selfUrl: () => string;
  clock: Clock;
  logger: Logger;
}): Promise<LocalWhatsApp | undefined> {
  if (o.config.whatsapp) return undefined;
  const local = await resolveLocalWhatsAppCredentials({ dataDir: o.config.dataDir });
  const sink = new LocalGraphSink({ credentials: local.credentials, webhookUrl: () => `${o.selfUrl()}/whatsapp/webhook`, clock: o.clock, logger: o.logger });
  return { sink, graphBaseUrl: () => `${o.selfUrl()}/local-graph/v22.0`, credentialsFile: local.file };
}
