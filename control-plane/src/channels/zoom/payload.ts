import { z } from "zod";

/**
 * The Zoom webhook events this channel reads, parsed into one shape. Zoom puts meeting events
 * under payload.object and RTMS events (meeting.rtms_*) directly in payload; ids may be numbers.
 */
const id = z.union([z.string(), z.number()]).transform((v) => String(v));

const Participant = z
  .object({
    user_id: id.optional(),
    user_name: z.string().optional(),
    id: id.optional(),
    email: z.string().optional(),
    participant_user_id: id.optional(),
    participant_uuid: z.string().optional(),
    join_time: z.string().optional(),
    leave_time: z.string().optional(),
  })
  .passthrough();

const MeetingObject = z
  .object({
    uuid: z.string().min(1),
    id: id.optional(),
    host_id: z.string().optional(),
    host_email: z.string().optional(),
    topic: z.string().optional(),
    start_time: z.string().optional(),
    end_time: z.string().optional(),
    participant: Participant.optional(),
  })
  .passthrough();

const Envelope = z
  .object({
    event: z.string().min(1),
    event_ts: z.number().optional(),
    payload: z.record(z.unknown()).default({}),
  })
  .passthrough();

const RtmsPayload = z
  .object({
    meeting_uuid: z.string().min(1),
    rtms_stream_id: z.string().min(1),
    server_urls: z.string().optional(),
    operator_id: z.string().optional(),
    host_id: z.string().optional(),
    stop_reason: z.union([z.string(), z.number()]).optional(),
  })
  .passthrough();

export type MeetingKind = "started" | "ended" | "participant_joined" | "participant_left";

export type ZoomEvent =
  | { type: "url_validation"; plainToken: string }
  | {
      type: "meeting";
      event: string;
      kind: MeetingKind;
      eventTs: number | undefined;
      meetingUuid: string;
      meetingNumber?: string;
      hostId?: string;
      hostEmail?: string;
      topic?: string;
      participant?: string;
      at?: string;
    }
  | { type: "rtms"; event: string; kind: "started" | "stopped" | "interrupted"; eventTs: number | undefined; meetingUuid: string; streamId: string; serverUrls?: string; operatorId?: string; hostId?: string }
  | { type: "other"; event: string };

const MEETING_KINDS: Record<string, MeetingKind> = {
  "meeting.started": "started",
  "meeting.ended": "ended",
  "meeting.participant_joined": "participant_joined",
  "meeting.participant_left": "participant_left",
};
const RTMS_KINDS: Record<string, "started" | "stopped" | "interrupted"> = {
  "meeting.rtms_started": "started",
  "meeting.rtms_stopped": "stopped",
  "meeting.rtms_interrupted": "interrupted",
};

export class ZoomPayloadError extends Error {
  override name = "ZoomPayloadError";
}

/** Throws ZoomPayloadError when an event we act on lacks what we need; unknown events are "other". */
export function parseZoomEvent(body: unknown): ZoomEvent {
  const env = Envelope.safeParse(body);
  if (!env.success) throw new ZoomPayloadError("not a Zoom webhook envelope");
  const { event, event_ts: eventTs, payload } = env.data;
  if (event === "endpoint.url_validation") {
    const token = payload.plainToken;
    if (typeof token !== "string" || token.length === 0 || token.length > 256) throw new ZoomPayloadError("url_validation without a plainToken");
    return { type: "url_validation", plainToken: token };
  }
  const meetingKind = MEETING_KINDS[event];
  if (meetingKind) {
    const obj = MeetingObject.safeParse(payload.object);
    if (!obj.success) throw new ZoomPayloadError(`${event} without payload.object.uuid`);
    const o = obj.data;
    const p = o.participant;
    const at = meetingKind === "started" ? o.start_time : meetingKind === "ended" ? o.end_time : p?.join_time ?? p?.leave_time;
    return {
      type: "meeting",
      event,
      kind: meetingKind,
      eventTs,
      meetingUuid: o.uuid,
      meetingNumber: o.id,
      hostId: o.host_id,
      hostEmail: o.host_email,
      topic: o.topic,
      participant: p ? p.user_name ?? p.email ?? p.user_id : undefined,
      at: at && !Number.isNaN(Date.parse(at)) ? new Date(at).toISOString() : undefined,
    };
  }
  const rtmsKind = RTMS_KINDS[event];
  if (rtmsKind) {
    // RTMS fields sit directly in payload; tolerate a payload.object wrapper some tools send.
    const src = typeof payload.meeting_uuid === "string" ? payload : ((payload.object as Record<string, unknown> | undefined) ?? {});
    const r = RtmsPayload.safeParse(src);
    if (!r.success) throw new ZoomPayloadError(`${event} without meeting_uuid and rtms_stream_id`);
    if (rtmsKind === "started" && !r.data.server_urls) throw new ZoomPayloadError(`${event} without server_urls`);
    return {
      type: "rtms",
      event,
      kind: rtmsKind,
      eventTs,
      meetingUuid: r.data.meeting_uuid,
      streamId: r.data.rtms_stream_id,
      serverUrls: r.data.server_urls,
      operatorId: r.data.operator_id,
      hostId: r.data.host_id,
    };
  }
  return { type: "other", event };
}

/**
 * The inbox dedupe key for a meeting event: Zoom retries a delivery with the same event and
 * event_ts. "ended" is keyed by the meeting alone, because meeting.ended and meeting.rtms_stopped
 * both end it and the user should get one summary.
 */
export function meetingProviderId(e: { event: string; kind: string; meetingUuid: string; eventTs?: number; participant?: string }): string {
  if (e.kind === "ended") return `zoom:ended:${e.meetingUuid}`;
  return `zoom:${e.event}:${e.meetingUuid}:${e.eventTs ?? ""}:${e.participant ?? ""}`;
}
