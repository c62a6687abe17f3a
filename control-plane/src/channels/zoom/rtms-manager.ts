import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import { rows, type Database } from "../../db/database";
import type { Logger } from "../../logger";
import { retry, type RetryPolicy } from "../../retry";
import { rtmsSignature, rtmsTimestampToIso, type RtmsTranscriptContent } from "./rtms-protocol";
import { RtmsSession } from "./rtms-session";
import { TranscriptBatcher, type TranscriptLine } from "./transcript-batcher";
import type { InboxPort } from "../channel";

export interface RtmsManagerOptions {
  database: Database;
  inbox: InboxPort;
  clientId: string;
  clientSecret: string;
  logger: Logger;
  clock: Clock;
  /** Transcript batches: at most maxLines lines, sent at most maxWaitMs after their first line. */
  batch?: { maxLines: number; maxWaitMs: number };
  /** How long a process's claim on a stream lasts without renewal (renewed every third of it). */
  leaseSeconds?: number;
  /** Consecutive failed connects before a stream is given up, and the backoff between them. */
  reconnect?: RetryPolicy;
  setupTimeoutMs?: number;
  /** Silence on both sockets this long closes the connection and reconnects (default 90 s). */
  idleTimeoutMs?: number;
  /**
   * A stream whose owner stopped renewing (crashed, or released it on shutdown) is adopted by
   * another process's renewal tick if its row moved within this window; Zoom gives up on a
   * reconnect after about a minute, so older ones are left alone (default 5 minutes).
   */
  adoptWithinSeconds?: number;
  /** This process's id in rtms_streams.owner (tests name replicas). */
  processId?: string;
  onKeepAlive?: (streamId: string, socket: "signaling" | "media") => void;
}

interface Entry {
  session: RtmsSession;
  batcher: TranscriptBatcher;
  meetingUuid: string;
  userId: string;
  done: Promise<void>;
}

export type StartOutcome = "connecting" | "duplicate";

/**
 * Every RTMS stream this process follows. One connection per stream: an in-process map answers a
 * retried rtms_started at once, and the rtms_streams row's lease (taken in one statement) stops a
 * second replica. Transcript lines are batched and each batch becomes one "meeting" inbox event
 * for the host's agent, numbered by the row so batches stay ordered and deduped across reconnects.
 */
export class RtmsManager {
  private readonly sessions = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly processId: string;
  private readonly leaseSeconds: number;
  private renewTimer: { cancel(): void } | null = null;
  private closed = false;

  constructor(private readonly o: RtmsManagerOptions) {
    this.log = o.logger.child({ component: "zoom-rtms" });
    this.processId = o.processId ?? randomUUID();
    this.leaseSeconds = o.leaseSeconds ?? 30;
  }

  /** Starts renewing the leases of connected streams. */
  start(): void {
    this.closed = false;
    const tick = () => {
      void this.renewLeases()
        .then(() => this.adoptOrphans())
        .finally(() => {
        if (!this.closed) this.renewTimer = this.o.clock.setTimeout(tick, (this.leaseSeconds * 1000) / 3);
      });
    };
    this.renewTimer = this.o.clock.setTimeout(tick, (this.leaseSeconds * 1000) / 3);
  }

  /** Closes every stream, sends what is buffered, and releases the leases so another replica may take over. */
  async stop(): Promise<void> {
    this.closed = true;
    this.renewTimer?.cancel();
    const ids = [...this.sessions.keys()];
    await Promise.all(ids.map((id) => this.close(id, "released")));
  }

  /** Streams this process has open right now. */
  activeStreams(): string[] {
    return [...this.sessions.keys()];
  }

  connectsOf(streamId: string): number {
    return this.sessions.get(streamId)?.session.connects ?? 0;
  }

  /** meeting.rtms_started: claim the stream and connect, unless someone (this process included) already has it. */
  async onStarted(s: { streamId: string; meetingUuid: string; serverUrls: string; userId: string }): Promise<StartOutcome> {
    if (this.closed || this.sessions.has(s.streamId)) return "duplicate";
    const claimed = await rows<{ stream_id: string }>(
      this.o.database.db,
      sql`INSERT INTO rtms_streams (stream_id, meeting_uuid, user_id, server_urls, owner, lease_until, connects)
          VALUES (${s.streamId}, ${s.meetingUuid}, ${s.userId}, ${s.serverUrls}, ${this.processId}, now() + make_interval(secs => ${this.leaseSeconds}), 1)
          ON CONFLICT (stream_id) DO UPDATE SET
            owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until, server_urls = EXCLUDED.server_urls,
            connects = rtms_streams.connects + 1, updated_at = now()
          WHERE rtms_streams.state = 'active' AND (rtms_streams.lease_until IS NULL OR rtms_streams.lease_until < now())
          RETURNING stream_id`,
    );
    // A concurrent call in this process may have claimed it between the map check and here.
    if (claimed.length === 0 || this.sessions.has(s.streamId)) return "duplicate";
    this.open(s);
    return "connecting";
  }

  /** meeting.rtms_interrupted: reconnect now if we have it; else take it over when nobody holds it. */
  async onInterrupted(s: { streamId: string; meetingUuid: string; serverUrls?: string }): Promise<void> {
    const entry = this.sessions.get(s.streamId);
    if (entry) {
      this.log.info({ streamId: s.streamId }, "rtms interrupted; reconnecting");
      entry.session.interrupt();
      return;
    }
    const [row] = await rows<{ user_id: string; server_urls: string }>(this.o.database.db, sql`SELECT user_id, server_urls FROM rtms_streams WHERE stream_id = ${s.streamId} AND state = 'active'`);
    if (!row) return;
    await this.onStarted({ streamId: s.streamId, meetingUuid: s.meetingUuid, serverUrls: s.serverUrls ?? row.server_urls, userId: row.user_id });
  }

  /** rtms_stopped for one stream: close it, send its last batch, and never reconnect it (on any replica). */
  async stopStream(streamId: string): Promise<void> {
    await this.o.database.db.execute(sql`UPDATE rtms_streams SET state = 'stopped', updated_at = now() WHERE stream_id = ${streamId}`);
    await this.close(streamId, "stopped");
  }

  /** The meeting ended: every stream of it, as stopStream. Resolves after the last batches are in the inbox. */
  async stopMeeting(meetingUuid: string): Promise<void> {
    await this.o.database.db.execute(sql`UPDATE rtms_streams SET state = 'stopped', updated_at = now() WHERE meeting_uuid = ${meetingUuid}`);
    const ids = [...this.sessions.entries()].filter(([, e]) => e.meetingUuid === meetingUuid).map(([id]) => id);
    await Promise.all(ids.map((id) => this.close(id, "stopped")));
  }

  private open(s: { streamId: string; meetingUuid: string; serverUrls: string; userId: string }): void {
    const log = this.log.child({ streamId: s.streamId, userId: s.userId });
    const batch = this.o.batch ?? { maxLines: 50, maxWaitMs: 15_000 };
    const batcher = new TranscriptBatcher({
      ...batch,
      clock: this.o.clock,
      send: (lines) => retry(() => this.writeBatch(s.streamId, lines), { clock: this.o.clock, policy: { attempts: 4, baseDelayMs: 200, maxDelayMs: 2000 } }),
      onError: (err, lines) => log.error({ err, lines: lines.length }, "could not store a transcript batch"),
    });
    const session = new RtmsSession({
      streamId: s.streamId,
      meetingUuid: s.meetingUuid,
      serverUrls: s.serverUrls,
      signature: rtmsSignature(this.o.clientId, this.o.clientSecret, s.meetingUuid, s.streamId),
      clock: this.o.clock,
      log,
      retry: this.o.reconnect ?? { attempts: 8, baseDelayMs: 500, maxDelayMs: 10_000 },
      setupTimeoutMs: this.o.setupTimeoutMs ?? 10_000,
      idleTimeoutMs: this.o.idleTimeoutMs ?? 90_000,
      onTranscript: (c) => {
        const line = toLine(c, this.o.clock.now());
        if (line) batcher.add(line);
      },
      onKeepAlive: this.o.onKeepAlive ? (which) => this.o.onKeepAlive!(s.streamId, which) : undefined,
      mayReconnect: () => this.renew(s.streamId),
    });
    const done = session.run().then(async (why) => {
      // The loop ended by itself (refused, gave up, lost the lease): hand back what we have.
      if (this.sessions.get(s.streamId)?.session === session && why !== "stopped") {
        this.sessions.delete(s.streamId);
        await batcher.flush();
        // A stream Zoom refused or that would not come back is over: no replica should adopt it.
        if (why === "refused" || why === "gave up") await this.markStopped(s.streamId);
        await this.release(s.streamId);
      }
    });
    this.sessions.set(s.streamId, { session, batcher, meetingUuid: s.meetingUuid, userId: s.userId, done });
    log.info("rtms stream claimed; connecting");
  }

  private async markStopped(streamId: string): Promise<void> {
    await this.o.database.db
      .execute(sql`UPDATE rtms_streams SET state = 'stopped', updated_at = now() WHERE stream_id = ${streamId}`)
      .catch((err) => this.log.warn({ err, streamId }, "could not mark an rtms stream stopped"));
  }

  private async close(streamId: string, why: "stopped" | "released" | "lost"): Promise<void> {
    const entry = this.sessions.get(streamId);
    if (!entry) return;
    this.sessions.delete(streamId);
    await entry.session.stop();
    await entry.batcher.flush();
    if (why === "released") await this.release(streamId);
    this.log.info({ streamId, why, connects: entry.session.connects }, "rtms stream closed");
  }

  /** One batch, one inbox event; the row's counter is the batch's number and dedupe key. */
  private async writeBatch(streamId: string, lines: TranscriptLine[]): Promise<void> {
    await this.o.database.db.transaction(async (tx) => {
      const [r] = await rows<{ batches: number; user_id: string; meeting_uuid: string }>(
        tx,
        sql`UPDATE rtms_streams SET batches = batches + 1, updated_at = now() WHERE stream_id = ${streamId} RETURNING batches, user_id, meeting_uuid`,
      );
      if (!r) return;
      await this.o.inbox.enqueue(tx, {
        userId: r.user_id,
        channel: "zoom",
        kind: "meeting",
        providerId: `zoom:rtms:${streamId}:${r.batches}`,
        payload: { meetingId: r.meeting_uuid, kind: "transcript", lines },
      });
    });
  }

  /** Extends our lease on a stream; false when it stopped or another process holds it. */
  private async renew(streamId: string): Promise<boolean> {
    const r = await rows<{ stream_id: string }>(
      this.o.database.db,
      sql`UPDATE rtms_streams SET lease_until = now() + make_interval(secs => ${this.leaseSeconds}), connects = connects + 1, updated_at = now()
          WHERE stream_id = ${streamId} AND state = 'active' AND owner = ${this.processId} RETURNING stream_id`,
    );
    return r.length > 0;
  }

  /**
   * Extends the leases of our open streams. A stream whose lease we no longer hold (stopped, or
   * taken over after our renewals failed for a whole lease) is closed here, so two processes never
   * both stay connected to it.
   */
  private async renewLeases(): Promise<void> {
    const ids = [...this.sessions.keys()];
    if (ids.length === 0) return;
    let renewed: { stream_id: string }[];
    try {
      renewed = await rows<{ stream_id: string }>(
        this.o.database.db,
        sql`UPDATE rtms_streams SET lease_until = now() + make_interval(secs => ${this.leaseSeconds}), updated_at = now()
            WHERE owner = ${this.processId} AND state = 'active' AND stream_id IN (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})
            RETURNING stream_id`,
      );
    } catch (err) {
      this.log.warn({ err }, "could not renew rtms leases");
      return;
    }
    const kept = new Set(renewed.map((r) => r.stream_id));
    const lost = ids.filter((id) => !kept.has(id) && this.sessions.has(id));
    await Promise.all(lost.map((id) => this.close(id, "lost")));
  }

  /** Streams whose owner went away (lease expired or released) within the window: claim and connect. */
  private async adoptOrphans(): Promise<void> {
    if (this.closed) return;
    const window = this.o.adoptWithinSeconds ?? 300;
    const orphans = await rows<{ stream_id: string; meeting_uuid: string; user_id: string; server_urls: string }>(
      this.o.database.db,
      sql`SELECT stream_id, meeting_uuid, user_id, server_urls FROM rtms_streams
          WHERE state = 'active' AND (lease_until IS NULL OR lease_until < now())
            AND updated_at > now() - make_interval(secs => ${window})
          ORDER BY updated_at LIMIT 20`,
    ).catch(() => []);
    for (const o of orphans) {
      if (this.sessions.has(o.stream_id)) continue;
      const outcome = await this.onStarted({ streamId: o.stream_id, meetingUuid: o.meeting_uuid, serverUrls: o.server_urls, userId: o.user_id }).catch(() => "duplicate");
      if (outcome === "connecting") this.log.info({ streamId: o.stream_id }, "adopted an rtms stream whose owner went away");
    }
  }

  private async release(streamId: string): Promise<void> {
    await this.o.database.db
      .execute(sql`UPDATE rtms_streams SET owner = NULL, lease_until = NULL, updated_at = now() WHERE stream_id = ${streamId} AND owner = ${this.processId}`)
      .catch((err) => this.log.warn({ err, streamId }, "could not release an rtms lease"));
  }
}

function toLine(c: RtmsTranscriptContent, now: Date): TranscriptLine | null {
  const text = typeof c.data === "string" ? c.data.trim() : "";
  if (!text) return null;
  const speaker = (typeof c.user_name === "string" && c.user_name.trim()) || (c.user_id !== undefined ? `participant ${String(c.user_id)}` : "Someone");
  return { speaker, text, ts: rtmsTimestampToIso(c.timestamp, now) };
}
