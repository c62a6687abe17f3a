import type { Db } from "../db/open-database";

export interface StoredMessage {
  id: number;
  channel: string;
  role: "user" | "assistant";
  content: string;
  created_at: string;
}

/**
 * Conversation history across channels, with a running summary. Messages after the summary's
 * high-water mark go to the model verbatim; older ones live on only in the summary.
 */
export class ConversationHistory {
  constructor(private readonly db: Db) {}

  append(channel: string, role: "user" | "assistant", content: string, now: Date): number {
    const info = this.db
      .prepare("INSERT INTO conversation_messages (channel, role, content, created_at) VALUES (?, ?, ?, ?)")
      .run(channel, role, content, now.toISOString());
    return Number(info.lastInsertRowid);
  }

  summary(): { summary: string; throughId: number } | null {
    const row = this.db.prepare("SELECT summary, covers_through_message_id AS throughId FROM conversation_summary WHERE id = 1").get() as
      | { summary: string; throughId: number }
      | undefined;
    return row ?? null;
  }

  /** Messages not yet folded into the summary, oldest first. */
  unsummarised(): StoredMessage[] {
    const through = this.summary()?.throughId ?? 0;
    return this.db.prepare("SELECT * FROM conversation_messages WHERE id > ? ORDER BY id").all(through) as StoredMessage[];
  }

  /** The recent tail for the prompt: newest messages, at most `maxChars` together. */
  recent(maxChars: number): StoredMessage[] {
    const all = this.unsummarised();
    const out: StoredMessage[] = [];
    let used = 0;
    for (let i = all.length - 1; i >= 0; i--) {
      const m = all[i]!;
      if (used + m.content.length > maxChars && out.length > 0) break;
      used += m.content.length;
      out.unshift(m);
    }
    return out;
  }

  unsummarisedChars(): number {
    return this.unsummarised().reduce((n, m) => n + m.content.length, 0);
  }

  saveSummary(summary: string, throughId: number, now: Date): void {
    this.db
      .prepare(
        `INSERT INTO conversation_summary (id, summary, covers_through_message_id, updated_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET summary = excluded.summary,
           covers_through_message_id = excluded.covers_through_message_id, updated_at = excluded.updated_at`,
      )
      .run(summary, throughId, now.toISOString());
  }
}
