import type { MethodResult } from "@concierge/protocol";

/**
 * The OpenAI Realtime events the bridge sends and reads (GA names; the beta's response.audio.*
 * names are accepted too). Audio is G.711 mu-law at 8 kHz both ways, which is what Twilio Media
 * Streams carry, so frames pass through without resampling.
 */
export const MULAW_BYTES_PER_MS = 8;

export function sessionUpdate(opts: { model: string; instructions: string; tools: MethodResult<"tools.list">["tools"]; voice?: string }) {
  return {
    type: "session.update",
    session: {
      type: "realtime",
      model: opts.model,
      instructions: opts.instructions,
      output_modalities: ["audio"],
      audio: {
        input: {
          format: { type: "audio/pcmu" },
          turn_detection: { type: "server_vad" },
          // Transcribed caller speech is what the stored transcript and the summary are made of.
          transcription: { model: "gpt-4o-mini-transcribe" },
        },
        output: { format: { type: "audio/pcmu" }, voice: opts.voice ?? "alloy" },
      },
      tools: opts.tools.map((t) => ({ type: "function", name: t.name, description: t.description, parameters: t.parameters })),
      tool_choice: "auto",
    },
  };
}

export const appendAudio = (audio: string) => ({ type: "input_audio_buffer.append", audio });

export const truncateItem = (itemId: string, audioEndMs: number) => ({
  type: "conversation.item.truncate",
  item_id: itemId,
  content_index: 0,
  audio_end_ms: audioEndMs,
});

export const functionOutput = (callId: string, output: string) => ({
  type: "conversation.item.create",
  item: { type: "function_call_output", call_id: callId, output },
});

export const userText = (text: string) => ({
  type: "conversation.item.create",
  item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

export const responseCreate = (instructions?: string) =>
  instructions ? { type: "response.create", response: { instructions } } : { type: "response.create" };

export const AUDIO_DELTA_EVENTS = new Set(["response.output_audio.delta", "response.audio.delta"]);
export const ASSISTANT_TRANSCRIPT_EVENTS = new Set(["response.output_audio_transcript.done", "response.audio_transcript.done"]);
export const CALLER_TRANSCRIPT_EVENT = "conversation.item.input_audio_transcription.completed";

/** ?model= on the Realtime URL, unless the operator already put one there. */
export function realtimeUrlWithModel(url: string, model: string): string {
  const u = new URL(url);
  if (!u.searchParams.has("model")) u.searchParams.set("model", model);
  return u.toString();
}
