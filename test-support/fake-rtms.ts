import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * A local Zoom RTMS server: a signaling WebSocket server and a media WebSocket server on loopback
 * that speak RTMS's JSON message types. Signaling: handshake (1 -> 2, naming the media server),
 * client ready ack (7), keep-alive (12 -> 13). Media: data handshake (3 -> 4, transcript media
 * only), keep-alive (12 -> 13), transcript data (17). Signatures are checked the way Zoom does, so a
 * client with the wrong secret is refused. Tests script a meeting through its methods.
 */
export interface FakeRtmsOptions {
  clientId: string;
  clientSecret: string;
  /**
   * Like Zoom: send KEEP_ALIVE_REQ on both sockets of every ready stream this often, and drop a
   * stream whose client leaves one unanswered for two intervals. Unset: keep-alives only on demand.
   */
  keepAliveIntervalMs?: number;
}

interface StreamState {
  signaling?: WebSocket;
  media?: WebSocket;
  /** CLIENT_READY_ACK received on the current signaling socket. */
  ready: boolean;
  signalingConnects: number;
  mediaConnects: number;
  /** Most signaling sockets open at once for this stream (Zoom allows one). */
  maxConcurrentSignaling: number;
  openSignaling: number;
  /** Periodic keep-alives answered on both sockets. */
  keepAlivesAnswered: number;
  /** Streams dropped for an unanswered keep-alive. */
  droppedForKeepAlive: number;
  /** Stop sending anything on this connection (a half-open network path). */
  silent: boolean;
  /** Timestamps of periodic keep-alives still waiting for an answer, per socket. */
  outstanding: Map<number, Set<"signaling" | "media">>;
}

export class FakeRtms {
  signalingUrl = "";
  private readonly streams = new Map<string, StreamState>();
  private readonly keepAliveAnswers: { streamId: string; socket: "signaling" | "media"; timestamp: number }[] = [];
  private readonly refused: string[] = [];
  private servers: { http: Server; wss: WebSocketServer }[] = [];
  private mediaUrl = "";
  private ticker: NodeJS.Timeout | null = null;

  constructor(private readonly o: FakeRtmsOptions) {}

  async start(): Promise<this> {
    const sig = await this.listen((ws) => this.onSignaling(ws));
    const media = await this.listen((ws) => this.onMedia(ws));
    this.signalingUrl = `ws://127.0.0.1:${sig}/signaling`;
    this.mediaUrl = `ws://127.0.0.1:${media}/media`;
    if (this.o.keepAliveIntervalMs) this.ticker = setInterval(() => this.tick(), this.o.keepAliveIntervalMs);
    return this;
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    for (const { http, wss } of this.servers) {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
    this.servers = [];
  }

  private async listen(onConnection: (ws: WebSocket) => void): Promise<number> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    wss.on("connection", onConnection);
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    this.servers.push({ http, wss });
    return (http.address() as AddressInfo).port;
  }

  private state(streamId: string): StreamState {
    let s = this.streams.get(streamId);
    if (!s) {
      s = { ready: false, signalingConnects: 0, mediaConnects: 0, maxConcurrentSignaling: 0, openSignaling: 0, keepAlivesAnswered: 0, droppedForKeepAlive: 0, silent: false, outstanding: new Map() };
      this.streams.set(streamId, s);
    }
    return s;
  }

  private expectedSignature(meetingUuid: string, streamId: string): string {
    return createHmac("sha256", this.o.clientSecret).update(`${this.o.clientId},${meetingUuid},${streamId}`).digest("hex");
  }

  private onSignaling(ws: WebSocket): void {
    let streamId: string | undefined;
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, any>;
      if (msg.msg_type === 1) {
        const ok = msg.protocol_version === 1 && typeof msg.rtms_stream_id === "string" && msg.signature === this.expectedSignature(msg.meeting_uuid, msg.rtms_stream_id);
        if (!ok) {
          this.refused.push(String(msg.rtms_stream_id));
          ws.send(JSON.stringify({ msg_type: 2, protocol_version: 1, status_code: 2, reason: "invalid signature" }));
          return;
        }
        streamId = msg.rtms_stream_id as string;
        const s = this.state(streamId);
        s.signaling = ws;
        s.ready = false;
        s.silent = false;
        s.outstanding.clear();
        s.signalingConnects++;
        s.openSignaling++;
        s.maxConcurrentSignaling = Math.max(s.maxConcurrentSignaling, s.openSignaling);
        ws.once("close", () => {
          s.openSignaling--;
          if (s.signaling === ws) s.ready = false;
        });
        ws.send(
          JSON.stringify({
            msg_type: 2,
            protocol_version: 1,
            sequence: msg.sequence,
            status_code: 0,
            reason: "",
            media_server: { server_urls: { audio: this.mediaUrl, video: this.mediaUrl, transcript: this.mediaUrl, all: this.mediaUrl }, srtp_keys: null },
          }),
        );
      } else if (msg.msg_type === 7 && streamId && msg.rtms_stream_id === streamId) {
        this.state(streamId).ready = true;
      } else if (msg.msg_type === 13 && streamId) {
        this.keepAliveAnswers.push({ streamId, socket: "signaling", timestamp: msg.timestamp });
        this.answered(streamId, "signaling", msg.timestamp);
      }
    });
  }

  private onMedia(ws: WebSocket): void {
    let streamId: string | undefined;
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, any>;
      if (msg.msg_type === 3) {
        const ok = msg.signature === this.expectedSignature(msg.meeting_uuid, msg.rtms_stream_id) && (Number(msg.media_type) & 8) === 8;
        ws.send(JSON.stringify({ msg_type: 4, protocol_version: 1, status_code: ok ? 0 : 2, reason: ok ? "" : "bad data handshake", payload_encrypted: false }));
        if (!ok) return;
        streamId = msg.rtms_stream_id as string;
        const s = this.state(streamId);
        s.media = ws;
        s.mediaConnects++;
      } else if (msg.msg_type === 13 && streamId) {
        this.keepAliveAnswers.push({ streamId, socket: "media", timestamp: msg.timestamp });
        this.answered(streamId, "media", msg.timestamp);
      }
    });
  }

  private answered(streamId: string, socket: "signaling" | "media", timestamp: number): void {
    const s = this.streams.get(streamId);
    const waiting = s?.outstanding.get(timestamp);
    if (!s || !waiting) return;
    waiting.delete(socket);
    if (waiting.size === 0) {
      s.outstanding.delete(timestamp);
      s.keepAlivesAnswered++;
    }
  }

  /** Zoom's side of the keep-alive: ask on both sockets, drop streams that left the last-but-one unanswered. */
  private tick(): void {
    const now = Date.now();
    for (const s of this.streams.values()) {
      if (!s.ready || s.silent || s.signaling?.readyState !== 1 || s.media?.readyState !== 1) continue;
      const overdue = [...s.outstanding.keys()].some((ts) => now - ts > 2 * this.o.keepAliveIntervalMs!);
      if (overdue) {
        s.droppedForKeepAlive++;
        s.outstanding.clear();
        s.media.terminate();
        s.signaling.terminate();
        continue;
      }
      s.outstanding.set(now, new Set(["signaling", "media"]));
      s.signaling.send(JSON.stringify({ msg_type: 12, timestamp: now }));
      s.media.send(JSON.stringify({ msg_type: 12, timestamp: now }));
    }
  }

  /** The connection goes quiet without closing (a dead network path): nothing more is sent on it. */
  silence(streamId: string): void {
    const s = this.streams.get(streamId);
    if (s) s.silent = true;
  }

  /** True once the client has sent CLIENT_READY_ACK on a live signaling socket and its media socket is open. */
  isReady(streamId: string): boolean {
    const s = this.streams.get(streamId);
    return !!s && s.ready && s.media?.readyState === 1 && s.signaling?.readyState === 1;
  }

  stats(streamId: string): Omit<StreamState, "signaling" | "media" | "outstanding"> {
    const { signaling: _s, media: _m, outstanding: _o, ...rest } = this.state(streamId);
    return { ...rest };
  }

  refusedStreams(): string[] {
    return [...this.refused];
  }

  /** One transcript line on the media socket (msg_type 17), as Zoom's content object. */
  say(streamId: string, userName: string, text: string, timestampMs: number, userId = 16778240): void {
    const s = this.streams.get(streamId);
    if (!s?.media || !s.ready) throw new Error(`stream ${streamId} is not ready for media`);
    s.media.send(JSON.stringify({ msg_type: 17, content: { user_id: userId, user_name: userName, data: text, timestamp: timestampMs } }));
  }

  /** Sends KEEP_ALIVE_REQ on both sockets; resolves true when both answered with the same timestamp. */
  async keepAlive(streamId: string, timeoutMs = 5000): Promise<boolean> {
    const s = this.streams.get(streamId);
    if (!s?.signaling || !s.media) throw new Error(`stream ${streamId} has no open sockets`);
    const timestamp = Date.now() + Math.floor(Math.random() * 1000);
    s.signaling.send(JSON.stringify({ msg_type: 12, timestamp }));
    s.media.send(JSON.stringify({ msg_type: 12, timestamp }));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const got = this.keepAliveAnswers.filter((a) => a.streamId === streamId && a.timestamp === timestamp).map((a) => a.socket);
      if (got.includes("signaling") && got.includes("media")) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** Drops both sockets of a stream without a close handshake, as a network failure would. */
  interrupt(streamId: string): void {
    const s = this.streams.get(streamId);
    s?.media?.terminate();
    s?.signaling?.terminate();
  }
}
