import { parseUsage, type UsageNumbers } from "./usage-accounting";

/** Longest line kept while looking for its end; a longer one is skipped, not buffered forever. */
const MAX_LINE = 1 << 20;

/**
 * Watches a chat-completions SSE stream as its bytes pass through, without holding them up: it
 * keeps the last `usage` seen (sent in the final chunk when stream_options.include_usage is set),
 * the model the provider reports, and how much text was generated, for the estimate when a stream
 * ends before its usage chunk.
 */
export class SseUsageTap {
  usage: UsageNumbers | undefined;
  model: string | undefined;
  contentChars = 0;
  /** An error object sent inside the stream (providers do this after a 200 has started). */
  streamError: unknown;
  private readonly decoder = new TextDecoder();
  private carry = "";

  feed(chunk: Uint8Array): void {
    const text = this.carry + this.decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.carry = lines.pop() ?? "";
    if (this.carry.length > MAX_LINE) this.carry = "";
    for (const line of lines) this.line(line.replace(/\r$/, ""));
  }

  end(): void {
    if (this.carry) this.line(this.carry);
    this.carry = "";
  }

  private line(line: string): void {
    if (!line.startsWith("data:")) return;
    const data = line.slice(5).trim();
    if (data === "" || data === "[DONE]") return;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof obj.model === "string") this.model = obj.model;
    if (obj.error) this.streamError = obj.error;
    const usage = parseUsage(obj.usage);
    if (usage) this.usage = usage;
    if (Array.isArray(obj.choices)) {
      for (const c of obj.choices as { delta?: { content?: unknown; reasoning?: unknown; tool_calls?: unknown } }[]) {
        const d = c?.delta;
        if (!d) continue;
        if (typeof d.content === "string") this.contentChars += d.content.length;
        if (typeof d.reasoning === "string") this.contentChars += d.reasoning.length;
        if (d.tool_calls) this.contentChars += JSON.stringify(d.tool_calls).length;
      }
    }
  }
}
