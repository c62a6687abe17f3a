import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { MediaStreamBridge, type BridgeOptions } from "./media-stream-bridge";

export const STREAM_PATH = "/voice/stream";

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
 */
export function attachVoiceStream(server: Server, opts: BridgeOptions): VoiceStreamHandle {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const active = new Set<MediaStreamBridge>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== STREAM_PATH) return;
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
