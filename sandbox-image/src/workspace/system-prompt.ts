import { DateTime } from "luxon";
import type { Profile } from "../db/profile-store";
import { compactSchema } from "./compact-schema";
import type { Workspace } from "./workspace";

export interface PromptCaps {
  /** Characters kept from any one workspace file. */
  perFile: number;
  /** Characters for all workspace files together. */
  total: number;
}

export const DEFAULT_CAPS: PromptCaps = { perFile: 8_000, total: 32_000 };

/** Order matters: identity first, then rules, then what we know of the user. */
const PROMPT_FILES = ["SOUL.md", "AGENTS.md", "USER.md", "MEMORY.md", "SCHEMA.md"];

export type PromptStyle = "chat" | "voice" | "heartbeat";

export interface PromptInput {
  workspace: Workspace;
  profile: Profile;
  timezone: string;
  now: Date;
  facts: string[];
  summary?: string | null;
  style: PromptStyle;
  caps?: PromptCaps;
}

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n[... truncated to ${max} characters]`;
}

/**
 * The system prompt in two parts. `stable` is the same from turn to turn (workspace files, what is
 * known of the user, the channel), so a provider's prompt cache can reuse it; `now` is the local
 * time, which changes every turn and therefore goes last (the chat brain sends it as a late
 * message, after the history).
 */
export interface PromptParts {
  stable: string;
  now: string;
}

/** Both parts as one text, the time last: for single calls (heartbeat, voice instructions). */
export function buildSystemPrompt(input: PromptInput): string {
  return joinPrompt(buildPromptParts(input));
}

export function joinPrompt(p: PromptParts): string {
  return `${p.stable}\n\n${p.now}`;
}

/**
 * The system prompt, from the workspace files under a per-file and a total cap so a huge MEMORY.md
 * cannot crowd out the rules. Memory facts from the database always go in (they are short and
 * capped separately): they are what makes the assistant feel like it knows the user.
 */
export function buildPromptParts(input: PromptInput): PromptParts {
  const caps = input.caps ?? DEFAULT_CAPS;
  const parts: string[] = [];
  let budget = caps.total;
  const files = [...PROMPT_FILES];
  if (input.style === "heartbeat") files.push("HEARTBEAT.md");
  for (const skill of input.workspace.list().filter((f) => f.path.startsWith("skills/") && f.path.endsWith(".md"))) {
    files.push(skill.path);
  }
  for (const file of files) {
    if (budget <= 0) break;
    const raw = input.workspace.readOptional(file);
    if (!raw || !raw.trim()) continue;
    const content = file === "SCHEMA.md" ? compactSchema(raw) : raw;
    const piece = clip(content.trim(), Math.min(caps.perFile, budget));
    budget -= piece.length;
    parts.push(`<file name="${file}">\n${piece}\n</file>`);
  }

  const about = [input.profile.name ? `The user's name: ${input.profile.name}.` : null, `Default currency: ${input.profile.currency}.`].filter(Boolean);
  parts.push(`## The user\n${about.join("\n")}`);

  if (input.facts.length > 0) {
    let factText = "";
    for (const f of input.facts) {
      if (factText.length + f.length > 4_000) break;
      factText += `- ${f}\n`;
    }
    parts.push(`## What you know about the user\n${factText.trimEnd()}`);
  }
  if (input.summary) parts.push(`## Earlier conversation (summary)\n${clip(input.summary, 4_000)}`);

  if (input.style === "voice") {
    parts.push(
      "## This is a phone call\nReply in one to three short spoken sentences. No lists, no markdown, no emoji, no URLs. Say times and amounts the way a person would say them.",
    );
  } else if (input.style === "chat") {
    parts.push("## Channel\nThis is a chat (WhatsApp-style): short paragraphs, plain text, *bold* sparingly, no tables.");
  }
  return { stable: parts.join("\n\n"), now: nowPart(input.now, input.timezone) };
}

/** The part of the prompt that changes every turn: the user's local time. */
export function nowPart(now: Date, timezone: string): string {
  const local = DateTime.fromJSDate(now).setZone(timezone);
  return `## Now\nCurrent local time: ${local.toFormat("cccc d LLLL yyyy, HH:mm")} (${timezone}).`;
}
