import type { CallTrust } from "@concierge/protocol";
import WebSocket from "ws";
import type { Clock } from "../../clock";
import type { CallTranscriptLine } from "../../db/schema";
import type { Database } from "../../db/database";
import type { Logger } from "../../logger";
import type { CallStore } from "./call-store";
import type { AgentPort } from "../../agent-port";
import {
  appendAudio,
  ASSISTANT_TRANSCRIPT_EVENTS,
  AUDIO_DELTA_EVENTS,
  CALLER_TRANSCRIPT_EVENT,
  functionOutput,
  MULAW_BYTES_PER_MS,
  realtimeUrlWithModel,
  responseCreate,
  sessionUpdate,
  truncateItem,
  userText,
} from "./realtime-events";
import { agentTrust, spokenPin } from "./caller-trust";
import type { CallTrustStore } from "./call-trust-store";
import { verifyStreamToken } from "./stream-token";

export interface RealtimeSettings {
  url: string;
  apiKey: string;
  model: string;
  voice?: string;
}

export interface BridgeOptions {
  realtime: RealtimeSettings;
  /** Verifies the signed custom parameters of the start frame. */
  authToken: string;
  agent: Pick<AgentPort, "call">;
  store: CallStore;
  /** PIN checks and the trust a WhatsApp "yes" set, for a limited call (docs/voice-trust.md). */
  trustStore: CallTrustStore;
  database: Database;
  logger: Logger;
  clock: Clock;
  /** How long the session waits for the agent's instructions before it starts without its tools. */
  setupTimeoutMs?: number;
  /** Caller audio kept while the Realtime session is being set up (20 ms frames). */
  maxBufferedFrames?: number;
  /** A socket that sends no valid start frame this soon is closed (default 5 s). */
  startTimeoutMs?: number;
}

const FALLBACK_INSTRUCTIONS =
  "You are the caller's personal assistant on a phone call. Be brief and warm. You cannot reach the caller's data right now; say so plainly if asked.";
const GREETING = "Greet the caller in one short sentence and ask how you can help.";

/**
 * One phone call in real time: Twilio Media Streams on one side, an OpenAI Realtime session on the
 * other. Audio passes through as base64 mu-law. Marks sent after each chunk of assistant audio
 * come back when Twilio has played it, so the bridge knows how much the caller really heard: when
 * the caller starts talking over the assistant, the assistant's item is truncated at that point
 * and Twilio's buffer is cleared (barge-in). Function calls run in the user's sandbox.
 */
export class MediaStreamBridge {
  private readonly log: Logger;
  private streamSid = "";
  private callSid = "";
  private userId = "";
  /** The call's trust when the stream started (docs/voice-trust.md); limited until read. */
  private trust: CallTrust = "limited";
  private upstream: WebSocket | undefined;
  private ready = false;
  /** The start frame's token checked out and the call's one stream is ours. */
  private admitted = false;
  private starting = false;
  private upgrading = false;
  private closed = false;
  private buffered: string[] = [];
  // Playback of the assistant item being spoken: ms sent to Twilio, ms Twilio says it played.
  private currentItem: string | undefined;
  private sentMs = 0;
  private playedMs = 0;
  private outstandingMarks: string[] = [];
  private writes: Promise<void> = Promise.resolve();
  private resolveDone!: () => void;
  /** Resolves when both sockets are closed and the transcript is stored. */
  readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(
    private readonly twilio: WebSocket,
    private readonly opts: BridgeOptions,
  ) {
    this.log = opts.logger.child({ component: "voice-stream" });
    twilio.on("message", (data) => this.onTwilio(data));
    twilio.on("close", () => this.close("twilio closed"));
    twilio.on("error", (err) => this.log.warn({ err: err.message, callSid: this.callSid }, "twilio socket error"));
    const startTimer = opts.clock.setTimeout(() => {
      if (this.admitted || this.closed) return;
      this.log.warn("no valid start frame in time; closing the media stream");
      this.refuse("no start frame");
    }, opts.startTimeoutMs ?? 5000);
    void this.done.then(() => startTimer.cancel());
  }

  private refuse(reason: string): void {
    this.closed = true;
    this.buffered = [];
    this.twilio.close(1008, reason);
    this.resolveDone();
  }

  private onTwilio(data: WebSocket.RawData): void {
    const msg = jsonFrame(data);
    if (msg === undefined) return;
    switch (msg?.event) {
      case "connected":
        return;
      case "start":
        // One start per socket: a second one must not open a second session.
        if (this.starting) return;
        this.starting = true;
        return void this.start(msg).catch((err) => {
          this.log.error({ err, callSid: this.callSid }, "could not start the realtime session");
          this.close("start failed");
        });
      case "media":
        if (msg.media?.track && msg.media.track !== "inbound") return;
        if (typeof msg.media?.payload !== "string") return;
        if (this.ready) this.sendUp(appendAudio(msg.media.payload));
        // Kept only once a start frame came (over a signed upgrade), and dropped if it is refused.
        else if (this.starting && this.buffered.length < (this.opts.maxBufferedFrames ?? 250)) this.buffered.push(msg.media.payload);
        return;
      case "mark":
        return this.onMark(String(msg.mark?.name ?? ""));
      case "dtmf":
        if (this.ready && msg.dtmf?.digit) this.sendUp(userText(`(The caller pressed ${msg.dtmf.digit} on the keypad.)`));
        return;
      case "stop":
        return this.close("stream stopped");
    }
  }

  private async start(msg: any): Promise<void> {
    const start = msg.start ?? {};
    this.streamSid = String(msg.streamSid ?? start.streamSid ?? "");
    this.callSid = String(start.callSid ?? "");
    const params = (start.customParameters ?? {}) as Record<string, string>;
    this.userId = String(params.userId ?? "");
    const now = this.opts.clock.now();
    if (!this.callSid || !this.userId || !verifyStreamToken(this.opts.authToken, this.callSid, this.userId, String(params.token ?? ""), now)) {
      this.log.warn({ callSid: this.callSid }, "refused a media stream with a bad or expired signature");
      return this.refuse("bad stream parameters");
    }
    // Bound to a live call and to one stream: a copied token cannot open a second session.
    const trust = this.streamSid ? await this.opts.store.claimStream(this.opts.database.db, this.callSid, this.userId, this.streamSid) : null;
    if (trust === null) {
      this.log.warn({ callSid: this.callSid }, "refused a media stream for a call that ended or already has its stream");
      return this.refuse("stream not allowed");
    }
    if (this.closed) return;
    this.trust = agentTrust(trust);
    this.admitted = true;
    const { realtime } = this.opts;
    const upstream = new WebSocket(realtimeUrlWithModel(realtime.url, realtime.model), {
      headers: { Authorization: `Bearer ${realtime.apiKey}` },
      handshakeTimeout: 10_000,
    });
    this.upstream = upstream;
    upstream.on("message", (data) => this.onRealtime(data));
    upstream.on("close", () => this.close("realtime closed"));
    upstream.on("error", (err) => this.log.warn({ err: err.message, callSid: this.callSid }, "realtime socket error"));
    const opened = new Promise<void>((resolve, reject) => {
      upstream.once("open", () => resolve());
      upstream.once("close", () => reject(new Error("realtime closed before it opened")));
    });
    // The sandbox may still be waking: ask for its instructions while the upstream connects. The
    // tools it offers depend on how far the caller is trusted (docs/voice-trust.md).
    const [setup] = await Promise.all([this.agentSetup(), opened]);
    if (this.closed) return;
    this.sendUp(sessionUpdate({ model: realtime.model, instructions: setup.instructions || FALLBACK_INSTRUCTIONS, tools: setup.tools, voice: realtime.voice }));
    this.ready = true;
    for (const audio of this.buffered.splice(0)) this.sendUp(appendAudio(audio));
    this.sendUp(responseCreate(GREETING));
    this.log.info({ callSid: this.callSid, userId: this.userId, tools: setup.tools.length, trust: this.trust }, "realtime call started");
  }

  /** The agent's instructions and tools; a sandbox that is too slow or broken must not leave the caller in silence. */
  private agentSetup(): Promise<{ tools: { name: string; description: string; parameters: Record<string, unknown> }[]; instructions: string }> {
    const fallback = { tools: [], instructions: FALLBACK_INSTRUCTIONS };
    return new Promise((resolve) => {
      const timer = this.opts.clock.setTimeout(() => {
        this.log.error({ callSid: this.callSid }, "tools.list too slow; realtime call runs without the agent's tools");
        resolve(fallback);
      }, this.opts.setupTimeoutMs ?? 8000);
      this.opts.agent.call(this.userId, "tools.list", { trust: this.trust }).then(
        (r) => {
          timer.cancel();
          resolve(r);
        },
        (err) => {
          timer.cancel();
          this.log.error({ err, callSid: this.callSid }, "tools.list failed; realtime call runs without the agent's tools");
          resolve(fallback);
        },
      );
    });
  }

  private onRealtime(data: WebSocket.RawData): void {
    const ev = jsonFrame(data);
    if (ev === undefined) return;
    const type = String(ev?.type ?? "");
    if (AUDIO_DELTA_EVENTS.has(type)) return this.playAudio(String(ev.item_id ?? ""), String(ev.delta ?? ""));
    if (type === "input_audio_buffer.speech_started") return this.bargeIn();
    if (type === "response.function_call_arguments.done") return void this.runTool(ev);
    if (type === CALLER_TRANSCRIPT_EVENT && ev.transcript) {
      const text = String(ev.transcript).trim();
      if (this.trust === "limited") {
        void this.maybeUpgrade(text);
        // A PIN said in a limited call is checked, never stored.
        if (spokenPin(text) !== null) return;
      }
      return this.remember({ role: "caller", text });
    }
    if (ASSISTANT_TRANSCRIPT_EVENTS.has(type) && ev.transcript) return this.remember({ role: "assistant", text: String(ev.transcript).trim() });
    if (type === "error") this.log.warn({ callSid: this.callSid, error: ev.error?.message, code: ev.error?.code }, "realtime error event");
  }

  /**
   * A limited call upgrades when the caller says the PIN, or when the user said yes on WhatsApp
   * (read from the call row at each caller turn): the session then gets the full tools and prompt.
   */
  private async maybeUpgrade(text: string): Promise<void> {
    if (this.upgrading) return;
    this.upgrading = true;
    try {
      const pin = spokenPin(text);
      const { database, store, trustStore } = this.opts;
      let verified: boolean;
      if (pin !== null) {
        const outcome = await trustStore.tryPin(database.db, this.callSid, this.userId, pin);
        verified = outcome === "verified";
        this.log.info({ callSid: this.callSid, outcome }, "caller said a PIN");
        if (!verified) this.sendUp(userText(`(System: the PIN the caller said was not accepted: ${outcome.replace("_", " ")}. Stay limited.)`));
      } else {
        verified = ((await store.getCall(database.db, this.callSid))?.trust ?? "limited") !== "limited";
      }
      if (!verified || this.closed) return;
      this.trust = "full";
      const setup = await this.agentSetup();
      this.sendUp(sessionUpdate({ model: this.opts.realtime.model, instructions: setup.instructions || FALLBACK_INSTRUCTIONS, tools: setup.tools, voice: this.opts.realtime.voice }));
      this.sendUp(responseCreate("The caller is now verified as the user: tell them briefly, then help with everything."));
      this.log.info({ callSid: this.callSid, tools: setup.tools.length }, "realtime call upgraded to full trust");
    } catch (err) {
      this.log.error({ err, callSid: this.callSid }, "could not check the caller's trust");
    } finally {
      this.upgrading = false;
    }
  }

  private playAudio(itemId: string, delta: string): void {
    if (!delta || !this.streamSid) return;
    if (itemId !== this.currentItem) {
      this.currentItem = itemId;
      this.sentMs = 0;
      this.playedMs = 0;
    }
    this.sentMs += Buffer.from(delta, "base64").length / MULAW_BYTES_PER_MS;
    const mark = `${itemId}:${Math.round(this.sentMs)}`;
    this.sendTwilio({ event: "media", streamSid: this.streamSid, media: { payload: delta } });
    this.sendTwilio({ event: "mark", streamSid: this.streamSid, mark: { name: mark } });
    this.outstandingMarks.push(mark);
  }

  /** Twilio played up to this mark: marks come back in the order they were sent. */
  private onMark(name: string): void {
    const at = this.outstandingMarks.indexOf(name);
    if (at < 0) return;
    this.outstandingMarks.splice(0, at + 1);
    const sep = name.lastIndexOf(":");
    if (name.slice(0, sep) === this.currentItem) this.playedMs = Number(name.slice(sep + 1));
  }

  private bargeIn(): void {
    if (!this.currentItem || this.outstandingMarks.length === 0) return;
    this.log.debug({ callSid: this.callSid, item: this.currentItem, playedMs: this.playedMs }, "barge-in");
    this.sendUp(truncateItem(this.currentItem, this.playedMs));
    this.sendTwilio({ event: "clear", streamSid: this.streamSid });
    this.outstandingMarks = [];
    this.currentItem = undefined;
  }

  private async runTool(ev: any): Promise<void> {
    const callId = String(ev.call_id ?? "");
    const name = String(ev.name ?? "");
    let output: string;
    try {
      const result = await this.opts.agent.call(this.userId, "tool.call", {
        idempotencyKey: `${this.callSid}:${callId}`,
        name,
        arguments: typeof ev.arguments === "string" ? ev.arguments : JSON.stringify(ev.arguments ?? {}),
        trust: this.trust,
      });
      output = result.output;
    } catch (err) {
      this.log.error({ err, callSid: this.callSid, tool: name }, "tool call failed");
      output = JSON.stringify({ error: "That did not work just now. Tell the caller and offer to try again later." });
    }
    this.sendUp(functionOutput(callId, output));
    this.sendUp(responseCreate());
  }

  private remember(line: CallTranscriptLine): void {
    if (!line.text || !this.callSid) return;
    const { store, database } = this.opts;
    this.writes = this.writes
      .then(() => store.appendTranscript(database.db, this.callSid, [line]))
      .catch((err) => this.log.error({ err, callSid: this.callSid }, "could not store a transcript line"));
  }

  private sendUp(event: object): void {
    if (this.upstream?.readyState === WebSocket.OPEN) this.upstream.send(JSON.stringify(event));
  }

  private sendTwilio(msg: object): void {
    if (this.twilio.readyState === WebSocket.OPEN) this.twilio.send(JSON.stringify(msg));
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.info({ callSid: this.callSid, reason }, "media stream closed");
    if (this.upstream && this.upstream.readyState !== WebSocket.CLOSED) this.upstream.close(1000);
    if (this.twilio.readyState === WebSocket.OPEN || this.twilio.readyState === WebSocket.CONNECTING) this.twilio.close(1000);
    void this.writes.then(() => this.resolveDone());
  }
}

/** A socket frame as JSON; undefined for one that is not (ignored: either peer may send noise). */
function jsonFrame(data: WebSocket.RawData): any {
  try {
    return JSON.parse(data.toString());
  } catch {
    return undefined;
  }
}
