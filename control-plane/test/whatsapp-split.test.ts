import { splitMessage, WHATSAPP_TEXT_LIMIT } from "../src/channels/whatsapp/split-message";
import { splitOutbound } from "../src/channels/whatsapp/split-message";

const squash = (s: string) => s.replace(/\s+/g, "");

describe("splitMessage", () => {
  it("leaves a reply within the limit whole", () => {
    expect(splitMessage("Hello there.")).toEqual(["Hello there."]);
    const exact = "x".repeat(WHATSAPP_TEXT_LIMIT);
    expect(splitMessage(exact)).toEqual([exact]);
  });

  it("turns a 9,000-character reply into three parts on sentence boundaries, nothing lost", () => {
    const sentence = "The quick brown fox jumps over the lazy dog again and again. "; // 61 chars
    const text = sentence.repeat(Math.ceil(9000 / sentence.length)).slice(0, 9000).trim() + ".";
    const parts = splitMessage(text);
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(WHATSAPP_TEXT_LIMIT);
    // Every part but the last ends a sentence.
    for (const p of parts.slice(0, -1)) expect(p.endsWith(".")).toBe(true);
    expect(squash(parts.join(" "))).toBe(squash(text));
  });

  it("prefers a paragraph break over a line break over a sentence end", () => {
    const a = "a".repeat(2500);
    const text = `${a}. ${"b".repeat(300)}\n${"c".repeat(300)}\n\n${"d".repeat(3000)}`;
    const [first] = splitMessage(text);
    expect(first!.endsWith("c")).toBe(true); // cut at the blank line, the best break in the window
  });

  it("cuts a text with no spaces at the limit without splitting an emoji", () => {
    const text = "a".repeat(WHATSAPP_TEXT_LIMIT - 1) + "😀" + "b".repeat(10);
    const parts = splitMessage(text);
    expect(parts[0]).toBe("a".repeat(WHATSAPP_TEXT_LIMIT - 1));
    expect(parts[1]!.startsWith("😀")).toBe(true);
    expect(parts.join("")).toBe(text);
  });

  it("splits outbound WhatsApp rows into ordered parts and leaves other channels alone", () => {
    const body = "Sentence number one is here. ".repeat(400);
    const out = splitOutbound([
      { userId: "u", channel: "whatsapp", kind: "text", body, inboxId: "e1" },
      { userId: "u", channel: "console", kind: "text", body },
    ]);
    const wa = out.filter((m) => m.channel === "whatsapp");
    expect(wa.length).toBe(3);
    expect(wa.map((m) => m.meta)).toEqual([{ part: 1, parts: 3 }, { part: 2, parts: 3 }, { part: 3, parts: 3 }]);
    expect(wa.every((m) => m.inboxId === "e1")).toBe(true);
    expect(out[out.length - 1]!.channel).toBe("console");
  });
});
