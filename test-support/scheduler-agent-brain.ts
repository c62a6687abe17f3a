import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { DateTime } from "luxon";

/**
 * The proactive half of an agent, for scheduler tests: reminders (one-off or daily at a local
 * time, computed in the user's zone like the real agent does) and a one-item checklist ("lunch
 * logged by 13:30?"). Its heartbeat calls the "LLM" only when something is due and counts those
 * calls, so a test can assert that silence cost nothing. Results are kept per idempotency key,
 * as the real agent does, and the state can live in a JSON file so a restarted process keeps it.
 *
 * This stands in for sandbox-image's agent until its heartbeat and alarm methods exist; it is
 * served over the real WebSocket protocol by test-support/fake-agent.ts in the in-process tests.
 */
export interface BrainReminder {
  id: number;
  text: string;
  dueAt: string;
  urgent: boolean;
  /** Daily at this local time ("HH:MM") in the brain's zone, or a one-off. */
  dailyAt?: string;
  done: boolean;
}

interface BrainState {
  timezone: string;
  reminders: BrainReminder[];
  /** Local dates (YYYY-MM-DD) with lunch logged. */
  lunchLogged: string[];
  llmCalls: number;
  results: Record<string, unknown>;
  nextId: number;
  /** How many times alarm.fire / heartbeat.run actually ran (replays not counted). */
  runs: { alarm: number; heartbeat: number };
}

export class ProactiveBrain {
  state: BrainState;

  constructor(timezone: string, private readonly file?: string) {
    this.state =
      file && existsSync(file)
        ? (JSON.parse(readFileSync(file, "utf8")) as BrainState)
        : { timezone, reminders: [], lunchLogged: [], llmCalls: 0, results: {}, nextId: 1, runs: { alarm: 0, heartbeat: 0 } };
  }

  private save(): void {
    if (this.file) writeFileSync(this.file, JSON.stringify(this.state));
  }

  /** Adds a reminder; returns the agent's next due time, what it would emit as alarm.set. */
  addReminder(text: string, dueAt: Date, opts: { urgent?: boolean; dailyAt?: string } = {}): string | null {
    this.state.reminders.push({ id: this.state.nextId++, text, dueAt: dueAt.toISOString(), urgent: opts.urgent ?? false, dailyAt: opts.dailyAt, done: false });
    this.save();
    return this.nextAt();
  }

  logLunch(localDate: string): void {
    this.state.lunchLogged.push(localDate);
    this.save();
  }

  nextAt(): string | null {
    const pending = this.state.reminders.filter((r) => !r.done).map((r) => r.dueAt).sort();
    return pending[0] ?? null;
  }

  alarmFire(params: { idempotencyKey: string; now?: string }): { reminders: { id: number; text: string; dueAt: string; urgent: boolean }[]; nextAt: string | null } {
    const stored = this.state.results[params.idempotencyKey];
    if (stored) return stored as never;
    this.state.runs.alarm++;
    const now = new Date(params.now ?? Date.now()).getTime();
    const fired: { id: number; text: string; dueAt: string; urgent: boolean }[] = [];
    for (const r of this.state.reminders) {
      if (r.done || new Date(r.dueAt).getTime() > now) continue;
      fired.push({ id: r.id, text: r.text, dueAt: r.dueAt, urgent: r.urgent });
      if (r.dailyAt) r.dueAt = nextDailyOccurrence(new Date(r.dueAt), r.dailyAt, this.state.timezone).toISOString();
      else r.done = true;
    }
    const result = { reminders: fired, nextAt: this.nextAt() };
    this.state.results[params.idempotencyKey] = result;
    this.save();
    return result;
  }

  heartbeatRun(params: { idempotencyKey: string; now?: string }): { send: boolean; text?: string; due: string[]; llmCalls: number; tokens: number; nextDueAt: string | null } {
    const stored = this.state.results[params.idempotencyKey];
    if (stored) return stored as never;
    this.state.runs.heartbeat++;
    const now = DateTime.fromJSDate(new Date(params.now ?? Date.now()), { zone: this.state.timezone });
    const lunchCheck = now.startOf("day").set({ hour: 14, minute: 0 });
    const today = now.toISODate()!;
    let result;
    if (now >= lunchCheck && !this.state.lunchLogged.includes(today)) {
      // Only now is the "LLM" consulted, to word the nudge.
      this.state.llmCalls++;
      result = { send: true, text: "You haven't logged lunch today. Did you eat?", due: ["lunch"], llmCalls: 1, tokens: 420, nextDueAt: now.toISO() };
    } else {
      const next = now < lunchCheck ? lunchCheck : lunchCheck.plus({ days: 1 });
      result = { send: false, due: [], llmCalls: 0, tokens: 0, nextDueAt: next.toUTC().toISO() };
    }
    this.state.results[params.idempotencyKey] = result;
    this.save();
    return result as never;
  }
}

/** The next day's occurrence of a local wall time: same local time across a DST change. */
export function nextDailyOccurrence(after: Date, hhmm: string, timezone: string): Date {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  const local = DateTime.fromJSDate(after, { zone: timezone }).plus({ days: 1 }).set({ hour: h, minute: m, second: 0, millisecond: 0 });
  return local.toJSDate();
}
