import { DateTime } from "luxon";
import type { Logger } from "pino";
import type { z } from "zod/v4";
import type { MethodParamsParsed } from "@concierge/protocol";
import type { LlmBrain } from "../brain/llm-brain";
import { classifyProviderError } from "../brain/provider-errors";
import { insertTask } from "../tools/task-tools";
import { ToolError, type ToolContext } from "../tools/tool";
import type { Workspace } from "../workspace/workspace";
import { extractActionItems, parseSummaryJson, type ActionItem, type TranscriptEntry } from "./action-items";

export interface MeetingDeps {
  workspace: Workspace;
  brain: LlmBrain | null;
  toolContext: ToolContext;
  log: Logger;
}

type Params = MethodParamsParsed<"meeting.event">;

const LINE = /^\*\*(.+?)\*\* \((\d{2}:\d{2})\): (.*)$/;

export function meetingFile(meetingId: string): string {
  // Zoom ids may hold '/', '+' and '='; keep the file name boring.
  const safe = meetingId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100) || "meeting";
  return `meetings/${safe}.md`;
}

/**
 * meeting.event: the transcript accumulates in the workspace as markdown; when the meeting ends, a
 * summary and its action items (as tasks) are written, and the summary goes back to the user.
 */
export async function handleMeetingEvent(deps: MeetingDeps, p: Params): Promise<{ message?: string; tasksCreated: number; llmCalls: number }> {
  const { workspace } = deps;
  const ctx = deps.toolContext;
  const file = meetingFile(p.meetingId);
  const zone = ctx.timezone();
  const when = DateTime.fromJSDate(p.at ? new Date(p.at) : ctx.now()).setZone(zone);
  const ensureHeader = () => {
    if (workspace.readOptional(file) === null) {
      workspace.write(file, `# ${p.topic ?? "Meeting"}\n\nMeeting id: ${p.meetingId}\nStarted: ${when.toFormat("yyyy-MM-dd HH:mm")} (${zone})\n\n## Transcript\n\n`);
    }
  };

  switch (p.kind) {
    case "started":
      ensureHeader();
      return { tasksCreated: 0, llmCalls: 0 };
    case "participant_joined":
    case "participant_left":
      ensureHeader();
      workspace.append(file, `_${when.toFormat("HH:mm")} ${p.participant ?? "someone"} ${p.kind === "participant_joined" ? "joined" : "left"}_\n\n`);
      return { tasksCreated: 0, llmCalls: 0 };
    case "transcript": {
      ensureHeader();
      const lines = (p.lines ?? []).map((l) => `**${l.speaker.replace(/\*/g, "")}** (${DateTime.fromISO(l.ts).setZone(zone).toFormat("HH:mm")}): ${l.text.replace(/\n/g, " ")}\n`);
      if (lines.length) workspace.append(file, lines.join(""));
      return { tasksCreated: 0, llmCalls: 0 };
    }
    case "ended":
      ensureHeader();
      return summarise(deps, p, file);
  }
}

async function summarise(deps: MeetingDeps, p: Params, file: string) {
  const ctx = deps.toolContext;
  const content = deps.workspace.readOptional(file) ?? "";
  if (content.includes("\n## Summary\n")) {
    // Already summarised (a redelivered "ended" with a new key): do not create the tasks twice.
    return { message: content.slice(content.indexOf("\n## Summary\n") + 12).trim(), tasksCreated: 0, llmCalls: 0 };
  }
  const entries: TranscriptEntry[] = [];
  for (const line of content.split("\n")) {
    const m = line.match(LINE);
    if (m) entries.push({ speaker: m[1]!, text: m[3]! });
  }
  const topic = p.topic ?? content.match(/^# (.+)$/m)?.[1] ?? "Meeting";
  const speakers = [...new Set(entries.map((e) => e.speaker))];
  let summary = entries.length
    ? `"${topic}" with ${speakers.join(", ")}: ${entries.length} transcript line${entries.length === 1 ? "" : "s"}.`
    : `"${topic}" ended; I have no transcript for it.`;
  let items: ActionItem[] = extractActionItems(entries, ctx.timezone(), ctx.now());
  let llmCalls = 0;
  if (deps.brain && entries.length > 0) {
    llmCalls = 1;
    try {
      const transcript = entries.map((e) => `${e.speaker}: ${e.text}`).join("\n").slice(-60_000);
      const out = await deps.brain.oneShot({
        system:
          'You summarise meetings for a busy person. Reply with JSON only: {"summary": "3-6 sentences: decisions, open questions", "actionItems": [{"task": "...", "owner": "name or null", "due": "date/time as said, or null"}]}. Only include action items someone actually committed to.',
        user: `Meeting: ${topic}\nParticipants: ${speakers.join(", ")}\n\nTranscript:\n${transcript}`,
        maxTokens: 1200,
      });
      const parsed = parseSummaryJson(out.text);
      if (parsed) {
        summary = parsed.summary;
        items = parsed.actionItems;
      } else deps.log.warn("meeting summary was not valid JSON; using the offline summary");
    } catch (err) {
      deps.log.warn({ kind: classifyProviderError(err).kind }, "meeting summary LLM call failed; using the offline summary");
    }
  }

  let created = 0;
  const taskLines: string[] = [];
  for (const item of items) {
    let task;
    try {
      task = insertTask(ctx, { title: item.task, owner: item.owner, due: item.due, source: `meeting:${p.meetingId}` });
    } catch (err) {
      if (!(err instanceof ToolError)) throw err;
      // An unparseable due date should not lose the action item.
      task = insertTask(ctx, { title: item.task, owner: item.owner, source: `meeting:${p.meetingId}` });
    }
    created++;
    taskLines.push(`- ${task.title}${task.owner ? ` (${task.owner})` : ""}${item.due ? `, due ${item.due}` : ""} [task #${task.id}]`);
  }
  const message = [`Meeting summary: ${summary}`, ...(taskLines.length ? ["", "Action items (added to your tasks):", ...taskLines] : [])].join("\n");
  deps.workspace.append(file, `\n## Summary\n\n${message}\n`);
  return { message, tasksCreated: created, llmCalls };
}
