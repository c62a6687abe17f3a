import { resolveTime } from "../time/resolve-time";

export interface TranscriptEntry {
  speaker: string;
  text: string;
}

export interface ActionItem {
  task: string;
  owner?: string;
  due?: string;
}

/**
 * Offline extraction: lines that say "action item:" / "todo:", or a speaker committing with
 * "I will ..." / "I'll ...". Due dates are whatever chrono finds in the item's words.
 */
export function extractActionItems(lines: TranscriptEntry[], zone: string, now: Date): ActionItem[] {
  const items: ActionItem[] = [];
  for (const line of lines) {
    const text = line.text.trim();
    let task: string | undefined;
    let owner: string | undefined;
    let m = text.match(/^(?:action item|action|todo|to-do|to do)\s*:\s*(.+)$/i);
    if (m) {
      task = m[1]!;
      const who = task.match(/^([A-Z][\w'-]*)\s+(?:to|will|should)\s+(.+)$/);
      if (who) {
        owner = who[1];
        task = who[2]!;
      }
    } else if ((m = text.match(/(?:^|[.!?]\s+)(?:I will|I'll|I am going to|I'm going to)\s+(.+?)(?:[.!?]|$)/i))) {
      task = m[1]!;
      owner = line.speaker;
    }
    if (!task) continue;
    task = task.replace(/[.!]+$/, "").trim();
    let due: string | undefined;
    const r = resolveTime(task, zone, now);
    if (r && r.matchedText) {
      due = r.matchedText;
      task = task.replace(r.matchedText, "").replace(/\s+(by|on|at|before)\s*$/i, "").trim();
    }
    task = task.replace(/[.!]+$/, "").trim();
    if (task) items.push({ task: task.charAt(0).toUpperCase() + task.slice(1), owner, due });
  }
  return items;
}

/** The model's reply for the meeting summary, tolerant of code fences and stray prose. */
export function parseSummaryJson(text: string): { summary: string; actionItems: ActionItem[] } | null {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) return null;
  try {
    const obj = JSON.parse(text.slice(start, end + 1)) as { summary?: unknown; actionItems?: unknown };
    if (typeof obj.summary !== "string") return null;
    const items = Array.isArray(obj.actionItems) ? obj.actionItems : [];
    return {
      summary: obj.summary,
      actionItems: items
        .filter((i): i is Record<string, unknown> => !!i && typeof i === "object" && typeof (i as Record<string, unknown>).task === "string")
        .map((i) => ({
          task: String(i.task),
          owner: typeof i.owner === "string" && i.owner ? i.owner : undefined,
          due: typeof i.due === "string" && i.due ? i.due : undefined,
        })),
    };
  } catch {
    return null;
  }
}
