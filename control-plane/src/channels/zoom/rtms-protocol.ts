import { createHmac } from "node:crypto";

/**
 * Zoom RTMS message types (JSON text frames). The signaling socket carries the handshake, the
 * client-ready ack and keep-alives; the media socket carries its own handshake, keep-alives and
 * the media itself. Both sockets must answer KEEP_ALIVE_REQ or Zoom drops them.
 */
export const RtmsMsg = {
  SIGNALING_HAND_SHAKE_REQ: 1,
  SIGNALING_HAND_SHAKE_RESP: 2,
  DATA_HAND_SHAKE_REQ: 3,
  DATA_HAND_SHAKE_RESP: 4,
  EVENT_SUBSCRIPTION: 5,
  EVENT_UPDATE: 6,
  CLIENT_READY_ACK: 7,
  STREAM_STATE_UPDATE: 8,
  SESSION_STATE_UPDATE: 9,
  KEEP_ALIVE_REQ: 12,
  KEEP_ALIVE_RESP: 13,
  MEDIA_DATA_AUDIO: 14,
  MEDIA_DATA_VIDEO: 15,
  MEDIA_DATA_SHARE: 16,
  MEDIA_DATA_TRANSCRIPT: 17,
  MEDIA_DATA_CHAT: 18,
} as const;

/** media_type bitmask in the data handshake; we only ask for transcripts. */
export const MEDIA_TYPE_TRANSCRIPT = 8;
export const RTMS_PROTOCOL_VERSION = 1;

/** hex HMAC-SHA256(client secret, `${clientId},${meetingUuid},${streamId}`): proves we are the app Zoom started the stream for. */
export function rtmsSignature(clientId: string, clientSecret: string, meetingUuid: string, streamId: string): string {
  return createHmac("sha256", clientSecret).update(`${clientId},${meetingUuid},${streamId}`).digest("hex");
}

export interface RtmsTranscriptContent {
  user_id?: number | string;
  user_name?: string;
  data?: string;
  timestamp?: number;
}

/**
 * RTMS timestamps are epoch numbers whose unit varies between samples (seconds, milliseconds,
 * microseconds); pick the unit by magnitude and fall back to our clock.
 */
export function rtmsTimestampToIso(ts: unknown, fallback: Date): string {
  if (typeof ts !== "number" || !Number.isFinite(ts) || ts <= 0) return fallback.toISOString();
  const ms = ts > 1e14 ? ts / 1000 : ts > 1e11 ? ts : ts * 1000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? fallback.toISOString() : d.toISOString();
}
