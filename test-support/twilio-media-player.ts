import WebSocket from "ws";

/**
 * Twilio's side of a Media Stream: a `ws` client that plays a recorded call (connected, start,
 * media frames, stop) in Twilio's exact message shapes, and records what the server sends back.
 * Marks are echoed the way Twilio does once the audio before them has played; `holdMarks` keeps
 * them back, as if playback were still going on.
 */
export type TwilioStreamMessage = Record<string, any>;

/** G.711 mu-law encoding of one 16-bit PCM sample. */
export function muLaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** `ms` of a 440 Hz tone as 8 kHz mu-law, in 20 ms frames (160 bytes each), base64. */
export function toneFrames(ms: number, startSample = 0): string[] {
  const frames: string[] = [];
  for (let f = 0; f < ms / 20; f++) {
    const buf = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) buf[i] = muLaw(8000 * Math.sin((2 * Math.PI * 440 * (startSample + f * 160 + i)) / 8000));
    frames.push(buf.toString("base64"));
  }
  return frames;
}

/** A recorded call's messages, as Twilio sends them. */
export function recordedCall(opts: { streamSid: string; callSid: string; accountSid?: string; customParameters: Record<string, string>; audioMs: number }): {
  opening: TwilioStreamMessage[];
  media: TwilioStreamMessage[];
  stop: TwilioStreamMessage;
} {
  const accountSid = opts.accountSid ?? "AC00000000000000000000000000000000";
  let seq = 1;
  const opening = [
    { event: "connected", protocol: "Call", version: "1.0.0" },
    {
      event: "start",
      sequenceNumber: String(seq++),
      start: {
        accountSid,
        streamSid: opts.streamSid,
        callSid: opts.callSid,
        tracks: ["inbound"],
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        customParameters: opts.customParameters,
      },
      streamSid: opts.streamSid,
    },
  ];
  const media = toneFrames(opts.audioMs).map((payload, i) => ({
    event: "media",
    sequenceNumber: String(seq++),
    media: { track: "inbound", chunk: String(i + 1), timestamp: String(i * 20), payload },
    streamSid: opts.streamSid,
  }));
  const stop = { event: "stop", sequenceNumber: String(seq++), streamSid: opts.streamSid, stop: { accountSid, callSid: opts.callSid } };
  return { opening, media, stop };
}

export class TwilioMediaPlayer {
  readonly received: TwilioStreamMessage[] = [];
  holdMarks = false;
  private ws!: WebSocket;
  private waiters: { pred: (m: TwilioStreamMessage) => boolean; resolve: (m: TwilioStreamMessage) => void }[] = [];
  readonly closed: Promise<{ code: number }>;
  private resolveClosed!: (v: { code: number }) => void;

  /** `headers`: what Twilio sends on the upgrade (its X-Twilio-Signature: VoiceHarness.streamHeaders). */
  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  async connect(): Promise<this> {
    this.ws = new WebSocket(this.url, { headers: this.headers });
    this.ws.on("message", (data, isBinary) => {
      if (isBinary) throw new Error("Twilio only accepts text frames");
      const msg = JSON.parse(data.toString());
      this.received.push(msg);
      if (msg.event === "mark" && !this.holdMarks) this.send({ event: "mark", sequenceNumber: "0", streamSid: msg.streamSid, mark: { name: msg.mark.name } });
      for (const w of [...this.waiters]) {
        if (w.pred(msg)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    });
    this.ws.on("close", (code) => this.resolveClosed({ code }));
    await new Promise<void>((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
    return this;
  }

  send(msg: TwilioStreamMessage): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Echoes a mark that was held back: Twilio has now played up to it. */
  echoMark(name: string, streamSid: string): void {
    this.send({ event: "mark", sequenceNumber: "0", streamSid, mark: { name } });
  }

  waitFor(pred: (m: TwilioStreamMessage) => boolean, timeoutMs = 5000): Promise<TwilioStreamMessage> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m: TwilioStreamMessage) => (clearTimeout(t), resolve(m)) };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error("timed out waiting for a Twilio stream message"));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  close(): void {
    this.ws.close();
  }
}
