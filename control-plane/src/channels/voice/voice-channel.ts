import type { AgentPort } from "../../agent-port";
import type { Clock } from "../../clock";
import type { Config } from "../../config";
import type { Database } from "../../db/database";
import type { Logger } from "../../logger";
import { CallStore } from "./call-store";
import { OutboundCaller } from "./outbound-call";
import { CallTrustStore } from "./call-trust-store";
import type { Channel, InboxPort, OutboxPort } from "../channel";
import type { WhatsAppCommands } from "../whatsapp/turn";
import { voiceTrustCommands } from "./voice-trust-commands";
import { TurnWaiter } from "./turn-waiter";
import { VoiceHandlers } from "./voice-handlers";
import { VoiceReplays } from "./voice-replays";
import { createVoiceRouter } from "./voice-router";
import { attachVoiceStream, type VoiceStreamHandle } from "./voice-stream";

export interface VoiceChannelOptions {
  config: Pick<Config, "publicBaseUrl" | "twilio" | "twilioApiBaseUrl" | "realtime" | "heartbeat" | "voice">;
  database: Database;
  logger: Logger;
  clock: Clock;
  agent: Pick<AgentPort, "call" | "warm">;
  inbox: InboxPort;
  /** Sends the WhatsApp "was that you?" question of a limited call; without it only a PIN upgrades. */
  outbox?: OutboxPort;
  /** Wait per webhook before a filler (default 12 s: Twilio gives up at 15). */
  answerLimitMs?: number;
  pollIntervalMs?: number;
  maxWaits?: number;
  /** How long the same signed request counts as a replay of the first (default 10 min). */
  replayWindowMs?: number;
  /** Media Streams open at once on this process (default 200). */
  maxStreams?: number;
  /** A stream socket must send its start frame this soon (default 5 s). */
  streamStartTimeoutMs?: number;
  /** Wait for the agent's instructions before a realtime call starts without them (default 8 s). */
  realtimeSetupTimeoutMs?: number;
}

/**
 * Signed webhooks at /voice; each spoken turn is a voice_turn inbox event (first in the user's
 * queue), a completed call a call_ended event whose summary goes to WhatsApp through the outbox.
 * Real-time calls bridge /voice/stream (an upgrade on the HTTP server, from start) to OpenAI Realtime.
 */
export interface VoiceChannel extends Channel {
  /** The phone PIN and "yes, that was me", answered in the WhatsApp turn (docs/voice-trust.md). */
  whatsAppCommands?: WhatsAppCommands;
  /** GET /voice/stream once started; absent when real-time voice is not configured. */
  stream?: VoiceStreamHandle;
  /** The scheduler's hook for urgent reminders; absent without TWILIO_PHONE_NUMBER. */
  placeCall?: (userId: string, text: string) => Promise<{ callSid: string }>;
}

/** Builds the voice channel from config; disabled when Twilio is not configured (no /voice at all). */
export function createVoiceChannel(opts: VoiceChannelOptions): VoiceChannel {
  const { config } = opts;
  if (!config.twilio) return { name: "voice", enabled: false };
  const twilioConfig = config.twilio;
  const store = new CallStore(opts.clock);
  const waiter = new TurnWaiter(opts.clock, opts.pollIntervalMs ?? 250);
  const trust = new CallTrustStore(opts.clock);
  const confirmWithinMs = config.voice.confirmMinutes * 60_000;
  const router = createVoiceRouter({
    database: opts.database,
    authToken: twilioConfig.authToken,
    publicBaseUrl: config.publicBaseUrl,
    logger: opts.logger,
    clock: opts.clock,
    agent: opts.agent,
    inbox: opts.inbox,
    store,
    waiter,
    replays: new VoiceReplays(opts.clock, opts.replayWindowMs ?? 10 * 60_000),
    trust,
    outbox: opts.outbox,
    confirmWithinMs,
    userDefaults: {
      timezone: config.heartbeat.defaultTimezone,
      activeHoursStart: config.heartbeat.defaultActiveHours.start,
      activeHoursEnd: config.heartbeat.defaultActiveHours.end,
    },
    realtime: Boolean(config.realtime),
    answerLimitMs: opts.answerLimitMs ?? 12_000,
    maxWaits: opts.maxWaits ?? 8,
  });
  const handlers = new VoiceHandlers({ database: opts.database, agent: opts.agent, store, waiter, logger: opts.logger });
  const outbound = twilioConfig.phoneNumber
    ? new OutboundCaller({
        accountSid: twilioConfig.accountSid,
        authToken: twilioConfig.authToken,
        phoneNumber: twilioConfig.phoneNumber,
        apiBaseUrl: config.twilioApiBaseUrl,
        publicBaseUrl: config.publicBaseUrl,
        database: opts.database,
        store,
        logger: opts.logger,
        clock: opts.clock,
        callsPerDay: config.voice.urgentCallsPerDay,
      })
    : undefined;
  const channel: VoiceChannel = {
    name: "voice",
    enabled: true,
    routes: [{ path: "/voice", router }],
    handlers: {
      voice_turn: async (event) => {
        await handlers.voiceTurn(event);
      },
      call_ended: (event) => handlers.callEnded(event),
    },
    start({ server }) {
      if (!config.realtime) return;
      channel.stream = attachVoiceStream(server, {
        realtime: config.realtime,
        authToken: twilioConfig.authToken,
        agent: opts.agent,
        store,
        trustStore: trust,
        database: opts.database,
        logger: opts.logger,
        clock: opts.clock,
        setupTimeoutMs: opts.realtimeSetupTimeoutMs,
        publicBaseUrl: config.publicBaseUrl,
        maxConnections: opts.maxStreams,
        startTimeoutMs: opts.streamStartTimeoutMs,
      });
    },
    // Open media streams close before HTTP stops.
    stop: async () => {
      await channel.stream?.close();
    },
    whatsAppCommands: voiceTrustCommands({ database: opts.database, trust, confirmWithinMs, logger: opts.logger }),
    placeCall: outbound ? (userId, text) => outbound.placeCall(userId, text) : undefined,
  };
  return channel;
}
