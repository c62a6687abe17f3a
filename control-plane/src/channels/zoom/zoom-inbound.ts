import { sql } from "drizzle-orm";
import { rows, type Database, type Executor } from "../../db/database";
import type { Logger } from "../../logger";
import { meetingProviderId, type ZoomEvent } from "./payload";
import type { RtmsManager } from "./rtms-manager";
import type { ZoomUsers } from "./zoom-users";
import type { InboxPort } from "../channel";

export type InboundOutcome = "queued" | "duplicate" | "ignored" | "connecting";

export interface ZoomInboundOptions {
  database: Database;
  inbox: InboxPort;
  users: ZoomUsers;
  /** Undefined when ZOOM_CLIENT_ID/SECRET are unset: RTMS events are then acknowledged and ignored. */
  rtms?: RtmsManager;
  logger: Logger;
}

/**
 * Turns a verified Zoom event into work: meeting events become "meeting" inbox events for the
 * host's agent; RTMS events open, reconnect or close transcript streams. Everything here is safe
 * to repeat, because Zoom retries deliveries it did not see answered.
 */
export class ZoomInbound {
  private readonly log: Logger;

  constructor(private readonly o: ZoomInboundOptions) {
    this.log = o.logger.child({ component: "zoom-inbound" });
  }

  async handle(e: ZoomEvent): Promise<InboundOutcome> {
    if (e.type === "meeting") return this.meeting(e);
    if (e.type === "rtms") return this.rtms(e);
    return "ignored";
  }

  private async meeting(e: Extract<ZoomEvent, { type: "meeting" }>): Promise<InboundOutcome> {
    const { db } = this.o.database;
    const userId = (await this.o.users.findHost(db, e)) ?? (await this.meetingOwner(db, e.meetingUuid));
    if (!userId) {
      this.log.debug({ event: e.event }, "zoom event for a host nobody linked; ignored");
      return "ignored";
    }
    // The transcript must be in the agent's queue before "ended" asks for the summary.
    if (e.kind === "ended") await this.o.rtms?.stopMeeting(e.meetingUuid);
    const queued = await db.transaction(async (tx) => {
      if (e.kind === "started") {
        await tx.execute(sql`INSERT INTO zoom_meetings (uuid, user_id, meeting_number, topic)
                             VALUES (${e.meetingUuid}, ${userId}, ${e.meetingNumber ?? null}, ${e.topic ?? null})
                             ON CONFLICT (uuid) DO NOTHING`);
      }
      if (e.kind === "ended") await tx.execute(sql`UPDATE zoom_meetings SET ended_at = COALESCE(ended_at, now()) WHERE uuid = ${e.meetingUuid}`);
      return this.o.inbox.enqueue(tx, {
        userId,
        channel: "zoom",
        kind: "meeting",
        providerId: meetingProviderId(e),
        payload: { meetingId: e.meetingUuid, kind: e.kind, topic: e.topic, participant: e.participant, at: e.at },
      });
    });
    this.log.debug({ event: e.event, userId, queued }, "zoom meeting event");
    return queued ? "queued" : "duplicate";
  }

  private async rtms(e: Extract<ZoomEvent, { type: "rtms" }>): Promise<InboundOutcome> {
    const { db } = this.o.database;
    const rtms = this.o.rtms;
    if (e.kind === "started") {
      const userId = (await this.meetingOwner(db, e.meetingUuid)) ?? (await this.o.users.findHost(db, { hostId: e.operatorId ?? e.hostId }));
      if (!userId) {
        this.log.debug({ event: e.event }, "rtms stream for a meeting nobody linked; ignored");
        return "ignored";
      }
      if (!rtms) {
        this.log.warn("rtms_started but ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET are not set; no live transcript");
        return "ignored";
      }
      return rtms.onStarted({ streamId: e.streamId, meetingUuid: e.meetingUuid, serverUrls: e.serverUrls!, userId });
    }
    if (e.kind === "interrupted") {
      await rtms?.onInterrupted({ streamId: e.streamId, meetingUuid: e.meetingUuid, serverUrls: e.serverUrls });
      return "queued";
    }
    // rtms_stopped: the last batch first, then the meeting's end (deduped with meeting.ended).
    const [stream] = await rows<{ user_id: string }>(db, sql`SELECT user_id FROM rtms_streams WHERE stream_id = ${e.streamId}`);
    const userId = stream?.user_id ?? (await this.meetingOwner(db, e.meetingUuid));
    if (rtms) await rtms.stopStream(e.streamId);
    if (!userId) return "ignored";
    const [m] = await rows<{ topic: string | null }>(db, sql`SELECT topic FROM zoom_meetings WHERE uuid = ${e.meetingUuid}`);
    const queued = await db.transaction(async (tx) => {
      await tx.execute(sql`UPDATE zoom_meetings SET ended_at = COALESCE(ended_at, now()) WHERE uuid = ${e.meetingUuid}`);
      return this.o.inbox.enqueue(tx, {
        userId,
        channel: "zoom",
        kind: "meeting",
        providerId: meetingProviderId({ event: e.event, kind: "ended", meetingUuid: e.meetingUuid }),
        payload: { meetingId: e.meetingUuid, kind: "ended", topic: m?.topic ?? undefined },
      });
    });
    return queued ? "queued" : "duplicate";
  }

  private async meetingOwner(db: Executor, uuid: string): Promise<string | null> {
    const [m] = await rows<{ user_id: string }>(db, sql`SELECT user_id FROM zoom_meetings WHERE uuid = ${uuid}`);
    return m?.user_id ?? null;
  }
}
