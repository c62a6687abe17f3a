import { PROTOCOL_VERSION } from "@concierge/protocol";
import { nextAlarmAt } from "../alarms/reminder-store";
import { AGENT_VERSION } from "../version";
import type { MethodHandler } from "./method-handler";

export const status: MethodHandler<"status"> = async (ctx) => ({
  agentVersion: AGENT_VERSION,
  protocolVersion: PROTOCOL_VERSION,
  uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
  rssBytes: process.memoryUsage().rss,
  llmConfigured: ctx.brains.brain !== null,
  nextAlarmAt: nextAlarmAt(ctx.db),
  timezone: ctx.timezone(),
});
