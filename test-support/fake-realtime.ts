import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * A local stand-in for the OpenAI Realtime WebSocket API (GA event names). It checks the bearer
 * key, answers the client events a session uses (session.update -> session.updated,
 * conversation.item.create -> conversation.item.created, conversation.item.truncate ->
 * conversation.item.truncated, input_audio_buffer.append counted) and lets a test speak as the
 * model: audio deltas, server-VAD speech_started, function calls, transcripts.
 */
export type RealtimeEvent = Record<string, any>;

export class FakeRealtime {
  private wss?: WebSocketServer;
  socket?: WebSocket;
  /** Every client event received, in order. */
  readonly received: RealtimeEvent[] = [];
  /** Bytes of caller audio appended (decoded). */
  appendedBytes = 0;
  connections = 0;
  refused = 0;
  lastUrl = "";
  private waiters: { pred: (e: RealtimeEvent) => boolean; resolve: (e: RealtimeEvent) => void }[] = [];

  constructor(private readonly apiKey: string) {}

  get url(): string {
    const { port } = this.wss!.address() as AddressInfo;
    return `ws://127.0.0.1:${port}/v1/realtime`;
  }

  async start(): Promise<this> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve, reject) => {
      wss.once("listening", resolve);
      wss.once("error", reject);
    });
    wss.on("connection", (ws, req) => {
      this.lastUrl = req.url ?? "";
      if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
        this.refused++;
        ws.send(JSON.stringify({ type: "error", event_id: id("event"), error: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided" } }));
        ws.close(3000, "invalid_api_key");
        return;
      }
      this.connections++;
      this.socket = ws;
      this.emit({ type: "session.created", session: { id: id("sess"), object: "realtime.session", type: "realtime", model: new URL(req.url ?? "/", "ws://x").searchParams.get("model") } });
      ws.on("message", (data) => this.onClientEvent(JSON.parse(data.toString())));
    });
    this.wss = wss;
    return this;
  }

  private onClientEvent(ev: RealtimeEvent): void {
    this.received.push(ev);
    switch (ev.type) {
      case "session.update":
        this.emit({ type: "session.updated", session: ev.session });
        break;
      case "input_audio_buffer.append":
        this.appendedBytes += Buffer.from(String(ev.audio), "base64").length;
        break;
      case "conversation.item.create":
        this.emit({ type: "conversation.item.created", previous_item_id: null, item: { id: id("item"), ...ev.item } });
        break;
      case "conversation.item.truncate":
        this.emit({ type: "conversation.item.truncated", item_id: ev.item_id, content_index: ev.content_index, audio_end_ms: ev.audio_end_ms });
        break;
    }
    for (const w of [...this.waiters]) {
      if (w.pred(ev)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(ev);
      }
    }
  }

  /** Sends one server event, with an event_id as the real API does. */
  emit(ev: RealtimeEvent): void {
    this.socket?.send(JSON.stringify({ event_id: id("event"), ...ev }));
  }

  /** The model speaks: `ms` of mu-law audio for `itemId`, as response.output_audio.delta chunks. */
  speak(itemId: string, ms: number, chunkMs = 100): void {
    for (let sent = 0; sent < ms; sent += chunkMs) {
      const bytes = Buffer.alloc(Math.min(chunkMs, ms - sent) * 8, 0xff);
      this.emit({ type: "response.output_audio.delta", response_id: "resp_1", item_id: itemId, output_index: 0, content_index: 0, delta: bytes.toString("base64") });
    }
  }

  /** Server VAD heard the caller start talking. */
  speechStarted(audioStartMs: number): void {
    this.emit({ type: "input_audio_buffer.speech_started", audio_start_ms: audioStartMs, item_id: id("item") });
  }

  functionCall(callId: string, name: string, args: Record<string, unknown>): void {
    this.emit({ type: "response.function_call_arguments.done", response_id: "resp_2", item_id: id("item"), output_index: 0, call_id: callId, name, arguments: JSON.stringify(args) });
  }

  callerSaid(text: string): void {
    this.emit({ type: "conversation.item.input_audio_transcription.completed", item_id: id("item"), content_index: 0, transcript: text });
  }

  assistantSaid(itemId: string, text: string): void {
    this.emit({ type: "response.output_audio_transcript.done", response_id: "resp_1", item_id: itemId, output_index: 0, content_index: 0, transcript: text });
  }

  waitFor(pred: (e: RealtimeEvent) => boolean, timeoutMs = 5000): Promise<RealtimeEvent> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (e: RealtimeEvent) => (clearTimeout(t), resolve(e)) };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error("timed out waiting for a Realtime client event"));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async stop(): Promise<void> {
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
  }
}

function id(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}
