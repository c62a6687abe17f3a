import { index, integer, pgTable, text } from "drizzle-orm/pg-core";
import { timestamptz, createdAt, updatedAt } from "./columns";
import { userIdColumn } from "./users";

/**
 * A Zoom meeting we follow, keyed by its instance uuid (the id RTMS and the meeting webhooks
 * share). Recorded on meeting.started so later events that carry no host (meeting.rtms_started)
 * still find the user.
 */
export const zoomMeetings = pgTable(
  "zoom_meetings",
  {
    uuid: text("uuid").primaryKey(),
    userId: userIdColumn(),
    meetingNumber: text("meeting_number"),
    topic: text("topic"),
    startedAt: timestamptz("started_at").notNull().defaultNow(),
    endedAt: timestamptz("ended_at"),
  },
  (t) => [index("zoom_meetings_user_idx").on(t.userId)],
);
export type ZoomMeeting = typeof zoomMeetings.$inferSelect;

/**
 * One RTMS stream. The row is the cross-replica guard of "one connection per stream": a process
 * connects only after it holds the row's lease (owner + lease_until), renews it while connected,
 * and a retried rtms_started webhook finds it held. batches numbers the transcript batches so each
 * becomes one inbox event with a stable dedupe key, in order, across reconnects and replicas.
 */
export const rtmsStreams = pgTable(
  "rtms_streams",
  {
    streamId: text("stream_id").primaryKey(),
    meetingUuid: text("meeting_uuid").notNull(),
    userId: userIdColumn(),
    serverUrls: text("server_urls").notNull(),
    /** active: should be connected; stopped: Zoom said it ended, never reconnect. */
    state: text("state").$type<"active" | "stopped">().notNull().default("active"),
    owner: text("owner"),
    leaseUntil: timestamptz("lease_until"),
    batches: integer("batches").notNull().default(0),
    connects: integer("connects").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("rtms_streams_meeting_idx").on(t.meetingUuid)],
);
export type RtmsStreamRow = typeof rtmsStreams.$inferSelect;
