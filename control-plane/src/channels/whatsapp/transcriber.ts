import type { Logger } from "../../logger";

/** Turns a voice note into text. */
export interface Transcriber {
  transcribe(input: { userId: string; audio: Buffer; mimeType: string }): Promise<string>;
}

export class TranscriptionError extends Error {
  constructor(message: string, public readonly retryable: boolean) {
    super(message);
    this.name = "TranscriptionError";
  }
}

export interface OpenAICompatibleTranscriberOptions {
  /** An OpenAI-compatible base, e.g. the control plane's own gateway http://127.0.0.1:3001/llm/v1
   * (a function when it is only known once the server listens). */
  baseUrl: string | (() => string);
  /**
   * The bearer token for a user's request. Through the gateway this is the user's sandbox token,
   * so the transcription is metered to that user like any other LLM call.
   */
  tokenFor: (userId: string) => Promise<string | undefined>;
  model?: string;
  timeoutMs?: number;
  logger: Logger;
}

const EXTENSIONS: Record<string, string> = { "audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac", "audio/amr": "amr", "audio/wav": "wav", "audio/webm": "webm" };

/** POST /audio/transcriptions (multipart, OpenAI's shape): file + model → {text}. */
export class OpenAICompatibleTranscriber implements Transcriber {
  private readonly log: Logger;
  constructor(private readonly opts: OpenAICompatibleTranscriberOptions) {
    this.log = opts.logger.child({ component: "whatsapp-transcriber" });
  }

  async transcribe(input: { userId: string; audio: Buffer; mimeType: string }): Promise<string> {
    const type = input.mimeType.split(";")[0]!.trim().toLowerCase();
    const form = new FormData();
    // WhatsApp voice notes are Ogg/Opus; the file name's extension is how OpenAI tells the format.
    form.append("file", new Blob([input.audio], { type }), `voice-note.${EXTENSIONS[type] ?? "ogg"}`);
    form.append("model", this.opts.model ?? "whisper-1");
    form.append("response_format", "json");
    const token = await this.opts.tokenFor(input.userId);
    let res: Response;
    try {
      const base = typeof this.opts.baseUrl === "function" ? this.opts.baseUrl() : this.opts.baseUrl;
      res = await fetch(`${base.replace(/\/+$/, "")}/audio/transcriptions`, {
        method: "POST",
        headers: token ? { authorization: `Bearer ${token}` } : {},
        body: form,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
      });
    } catch (err) {
      throw new TranscriptionError(`transcription service unreachable: ${(err as Error).message}`, true);
    }
    if (!res.ok) {
      const detail = await res.text().catch(() => "");
      this.log.warn({ status: res.status, userId: input.userId }, "transcription failed");
      throw new TranscriptionError(`transcription answered HTTP ${res.status}: ${detail.slice(0, 200)}`, res.status === 429 || res.status >= 500);
    }
    const body = (await res.json().catch(() => ({}))) as { text?: unknown };
    if (typeof body.text !== "string") throw new TranscriptionError("transcription answered without text", false);
    return body.text.trim();
  }
}
