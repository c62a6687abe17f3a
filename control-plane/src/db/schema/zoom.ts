import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "./users";

/**
 * A Zoom meeting we follow, keyed by its instance uuid (the id RTMS and the meeting webhooks
 * share). Recorded on meeting.started so later events that carry no host (meeting.rtms_started)
 * still find the user.
 */
export const zoomMeetings = pgTable(
  "zoom_meetings",
  {
    uuid: text("uuid").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    meetingNumber: text("meeting_number"),
    topic: text("topic"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp("ended_at", { withTimezone: true }),
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
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    serverUrls: text("server_urls").notNull(),
    /** active: should be connected; stopped: Zoom said it ended, never reconnect. */
    state: text("state").$type<"active" | "stopped">().notNull().default("active"),
    owner: text("owner"),
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    batches: integer("batches").notNull().default(0),
    connects: integer("connects").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("rtms_streams_meeting_idx").on(t.meetingUuid)],
);
export type RtmsStreamRow = typeof rtmsStreams.$inferSelect;
