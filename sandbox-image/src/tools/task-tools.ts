import { z } from "zod/v4";
import { toIso } from "../time/resolve-time";
import { defineTool, type ToolContext } from "./tool";
import { ById, deleteByIdTool, rowById, toolTime } from "./tool-parts";

export interface TaskRow {
  id: number;
  title: string;
  notes: string | null;
  owner: string | null;
  due_at: string | null;
  status: "open" | "done";
  source: string;
  created_at: string;
  completed_at: string | null;
}

/** Shared by the task tool, the offline parser and meeting action items. */
export function insertTask(ctx: ToolContext, t: { title: string; notes?: string; owner?: string; due?: string; source?: string }): TaskRow {
  const dueAt = t.due ? toIso(toolTime(ctx, t.due, "due time").at) : null;
  const info = ctx.db
    .prepare("INSERT INTO tasks (title, notes, owner, due_at, source, created_at) VALUES (?, ?, ?, ?, ?, ?)")
    .run(t.title.trim(), t.notes ?? null, t.owner ?? null, dueAt, t.source ?? "chat", ctx.now().toISOString());
  return getTask(ctx, info.lastInsertRowid);
}

const getTask = (ctx: ToolContext, id: number | bigint) => rowById<TaskRow>(ctx, "tasks", "task", id);

export const addTask = defineTool({
  name: "add_task",
  description: "Add a to-do item; `due` is a deadline in the user's words or ISO-8601.",
  schema: () => z.object({
    title: z.string().min(1).max(500),
    notes: z.string().max(2000).optional(),
    due: z.string().optional(),
    owner: z.string().optional().describe("who will do it, when not the user"),
  }),
  run: (ctx, a) => ({ task: insertTask(ctx, a) }),
});

export const listTasks = defineTool({
  name: "list_tasks",
  description: "List tasks: open ones by default, oldest deadline first.",
  schema: () => z.object({ status: z.enum(["open", "done", "all"]).default("open") }),
  run(ctx, a) {
    const rows =
      a.status === "all"
        ? ctx.db.prepare("SELECT * FROM tasks ORDER BY status DESC, due_at IS NULL, due_at, id").all()
        : ctx.db.prepare("SELECT * FROM tasks WHERE status = ? ORDER BY due_at IS NULL, due_at, id").all(a.status);
    return { tasks: rows as TaskRow[] };
  },
});

export const completeTask = defineTool({
  name: "complete_task",
  description: "Mark a task done by its id.",
  schema: ById,
  run(ctx, a) {
    const task = getTask(ctx, a.id);
    if (task.status === "done") return { task, alreadyDone: true };
    ctx.db.prepare("UPDATE tasks SET status = 'done', completed_at = ? WHERE id = ?").run(ctx.now().toISOString(), a.id);
    return { task: getTask(ctx, a.id), alreadyDone: false };
  },
});

export const deleteTask = deleteByIdTool("delete_task", "Delete a task by id.", "tasks", "task");

export const TASK_TOOLS = [addTask, listTasks, completeTask, deleteTask];
