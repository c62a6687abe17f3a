import { randomInt } from "node:crypto";
import WebSocket from "ws";
import type { Clock } from "../../clock";
import type { Logger } from "../../logger";
import { MEDIA_TYPE_TRANSCRIPT, RTMS_PROTOCOL_VERSION, RtmsMsg, type RtmsTranscriptContent } from "./rtms-protocol";

export interface RtmsConnectionOptions {
  signalingUrl: string;
  meetingUuid: string;
  streamId: string;
  signature: string;
  /** No media handshake within this long means the attempt failed. */
  setupTimeoutMs: number;
  /**
   * Nothing heard on either socket for this long (Zoom sends keep-alives every few seconds) means
   * the connection is dead even if TCP has not noticed: close it so the session reconnects.
   */
  idleTimeoutMs: number;
  onTranscript: (content: RtmsTranscriptContent) => void;
  onKeepAlive?: (socket: "signaling" | "media") => void;
  log: Logger;
  clock: Clock;
}

/** How one connection ended: ready says whether it ever got as far as receiving media. */
export interface RtmsConnectionEnd {
  ready: boolean;
  reason: string;
  /** Zoom refused us (bad signature, unknown stream): retrying the same handshake cannot help. */
  refused?: boolean;
}

/**
 * One attempt at an RTMS stream: signaling socket, handshake, media socket, data handshake for
 * transcripts, CLIENT_READY_ACK, then transcripts until either socket closes. Keep-alives are
 * answered on both sockets. `ended` settles once, when both sockets are gone.
 */
export class RtmsConnection {
  readonly ended: Promise<RtmsConnectionEnd>;
  private signaling: WebSocket | null = null;
  private media: WebSocket | null = null;
  private ready = false;
  private finish!: (end: RtmsConnectionEnd) => void;
  private done = false;
  private setupTimer: { cancel(): void } | null = null;
  private idleTimer: { cancel(): void } | null = null;

  constructor(private readonly o: RtmsConnectionOptions) {
    this.ended = new Promise((resolve) => (this.finish = resolve));
  }

  get isReady(): boolean {
    return this.ready;
  }

  open(): this {
    const o = this.o;
    this.setupTimer = o.clock.setTimeout(() => this.close(`no media handshake within ${o.setupTimeoutMs} ms`), o.setupTimeoutMs);
    this.heard();
    const sig = new WebSocket(o.signalingUrl, { handshakeTimeout: o.setupTimeoutMs });
    this.signaling = sig;
    sig.on("open", () => {
      this.send(sig, { msg_type: RtmsMsg.SIGNALING_HAND_SHAKE_REQ, ...this.handshakeIds(), sequence: randomInt(1, 2 ** 31 - 1) });
    });
    sig.on("message", (data) => this.onSignaling(data));
    sig.on("error", (err) => o.log.debug({ err: err.message }, "rtms signaling socket error"));
    sig.on("close", (code) => this.close(`signaling closed (${code})`));
    return this;
  }

  /** Closes both sockets; the first reason given wins. */
  close(reason: string, refused = false): void {
    if (this.done) return;
    this.done = true;
    this.setupTimer?.cancel();
    this.idleTimer?.cancel();
    for (const ws of [this.media, this.signaling]) {
      if (!ws) continue;
      ws.removeAllListeners("message");
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
      ws.on("error", () => undefined);
    }
    this.finish({ ready: this.ready, reason, refused });
  }

  /** Both handshakes (signaling, then media) name the same stream and carry the same signature. */
  private handshakeIds() {
    const o = this.o;
    return { protocol_version: RTMS_PROTOCOL_VERSION, meeting_uuid: o.meetingUuid, rtms_stream_id: o.streamId, signature: o.signature };
  }

  private send(ws: WebSocket, msg: Record<string, unknown>): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  /** Re-arms the idle watchdog: called for every frame from either socket. */
  private heard(): void {
    if (this.done) return;
    this.idleTimer?.cancel();
    this.idleTimer = this.o.clock.setTimeout(() => this.close(`nothing heard for ${this.o.idleTimeoutMs} ms`), this.o.idleTimeoutMs);
  }

  private parse(data: WebSocket.RawData): Record<string, unknown> | null {
    this.heard();
    try {
      const msg = JSON.parse(data.toString()) as unknown;
      return msg && typeof msg === "object" ? (msg as Record<string, unknown>) : null;
    } catch {
      return null; // binary media we did not ask for
    }
  }

  private keepAlive(ws: WebSocket, msg: Record<string, unknown>, which: "signaling" | "media"): void {
    this.send(ws, { msg_type: RtmsMsg.KEEP_ALIVE_RESP, timestamp: msg.timestamp });
    this.o.onKeepAlive?.(which);
  }

  private onSignaling(data: WebSocket.RawData): void {
    const msg = this.parse(data);
    if (!msg || !this.signaling) return;
    switch (msg.msg_type) {
      case RtmsMsg.KEEP_ALIVE_REQ:
        this.keepAlive(this.signaling, msg, "signaling");
        return;
      case RtmsMsg.SIGNALING_HAND_SHAKE_RESP: {
        if (msg.status_code !== 0) return this.close(`signaling handshake refused (status ${String(msg.status_code)}: ${String(msg.reason ?? "")})`, true);
        const urls = ((msg.media_server as { server_urls?: Record<string, unknown> } | undefined)?.server_urls ?? {}) as Record<string, unknown>;
        const mediaUrl = typeof urls.transcript === "string" ? urls.transcript : typeof urls.all === "string" ? urls.all : undefined;
        if (!mediaUrl) return this.close("signaling handshake named no media server", true);
        this.openMedia(mediaUrl);
        return;
      }
      case RtmsMsg.STREAM_STATE_UPDATE:
        this.o.log.debug({ state: msg.state, reason: msg.reason }, "rtms stream state update");
        return;
      default:
        return;
    }
  }

  private openMedia(url: string): void {
    const o = this.o;
    const media = new WebSocket(url, { handshakeTimeout: o.setupTimeoutMs });
    this.media = media;
    media.on("open", () => {
      this.send(media, {
        msg_type: RtmsMsg.DATA_HAND_SHAKE_REQ,
        ...this.handshakeIds(),
        media_type: MEDIA_TYPE_TRANSCRIPT,
        payload_encryption: false,
      });
    });
    media.on("message", (data) => {
      const msg = this.parse(data);
      if (!msg) return;
      switch (msg.msg_type) {
        case RtmsMsg.KEEP_ALIVE_REQ:
          this.keepAlive(media, msg, "media");
          return;
        case RtmsMsg.DATA_HAND_SHAKE_RESP:
          if (msg.status_code !== 0) return this.close(`media handshake refused (status ${String(msg.status_code)})`, true);
          this.setupTimer?.cancel();
          this.ready = true;
          // Media flows only after the signaling socket says we are ready for it.
          if (this.signaling) this.send(this.signaling, { msg_type: RtmsMsg.CLIENT_READY_ACK, rtms_stream_id: o.streamId });
          return;
        case RtmsMsg.MEDIA_DATA_TRANSCRIPT:
          if (msg.content && typeof msg.content === "object") o.onTranscript(msg.content as RtmsTranscriptContent);
          return;
        default:
          return;
      }
    });
    media.on("error", (err) => o.log.debug({ err: err.message }, "rtms media socket error"));
    media.on("close", (code) => this.close(`media closed (${code})`));
  }
}
