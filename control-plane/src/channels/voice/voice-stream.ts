import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import twilio from "twilio";
import { WebSocketServer } from "ws";
import { MediaStreamBridge, type BridgeOptions } from "./media-stream-bridge";
import { streamUrl } from "./stream-token";

export const STREAM_PATH = "/voice/stream";

/** Twilio's frames are small (20 ms of audio is ~300 bytes of JSON; the start frame a few KB). */
export const STREAM_MAX_PAYLOAD = 64 * 1024;

export interface VoiceStreamOptions extends BridgeOptions {
  /** Twilio signs the upgrade request over the stream URL, from PUBLIC_BASE_URL. */
  publicBaseUrl: string;
  /** Sockets open at once on this process, admitted or not yet (default 200). */
  maxConnections?: number;
}

export interface VoiceStreamHandle {
  /** Bridges still open (for tests and metrics). */
  readonly active: ReadonlySet<MediaStreamBridge>;
  /** Waits for the open bridges to finish storing their transcripts. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Mounts Twilio Media Streams (GET /voice/stream, a WebSocket upgrade) on the HTTP server. Other
 * upgrade paths are left alone for whoever else listens on the server.
 *
 * Before any byte of a frame is read (audit 15.6), the upgrade must carry a valid
 * X-Twilio-Signature over the stream URL, and the process must be under its connection cap; the
 * bridge then wants a start frame with a fresh, single-use stream token within seconds.
 */
export function attachVoiceStream(server: Server, opts: VoiceStreamOptions): VoiceStreamHandle {
  const log = opts.logger.child({ component: "voice-stream" });
  const wss = new WebSocketServer({ noServer: true, maxPayload: STREAM_MAX_PAYLOAD });
  const active = new Set<MediaStreamBridge>();
  const maxConnections = opts.maxConnections ?? 200;
  const signedUrl = streamUrl(opts.publicBaseUrl);
  const refuse = (socket: Duplex, status: string) => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const [path, query] = (req.url ?? "").split("?");
    if (path !== STREAM_PATH) return;
    const signature = req.headers["x-twilio-signature"];
    const url = query ? `${signedUrl}?${query}` : signedUrl;
    if (typeof signature !== "string" || !twilio.validateRequest(opts.authToken, signature, url, {})) {
      log.warn({ hasSignature: typeof signature === "string" }, "refused a media stream upgrade without a valid Twilio signature");
      return refuse(socket, "403 Forbidden");
    }
    if (wss.clients.size >= maxConnections) {
      log.warn({ open: active.size, maxConnections }, "refused a media stream: too many open streams");
      return refuse(socket, "503 Service Unavailable");
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const bridge = new MediaStreamBridge(ws, opts);
      active.add(bridge);
      void bridge.done.then(() => active.delete(bridge));
    });
  };
  server.on("upgrade", onUpgrade);
  return {
    active,
    async idle() {
      await Promise.all([...active].map((b) => b.done));
    },
    async close() {
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.close(1001, "shutting down");
      await Promise.all([...active].map((b) => b.done));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
