import { localLabel } from "../../tools/format";
import type { TaskRow } from "../../tools/task-tools";
import { onNamed, type Act, type Intent, type Recogniser } from "./intent";
import { pickByName } from "./match-by-name";
import { timeIn } from "./when";

const LIST_WORDS = String.raw`(?:tasks?|to[- ]?dos?|to[- ]?do list|list|checklist)`;
const ADD = [
  /^(?:add|create|new|make)\s+(?:a\s+)?(?:new\s+)?(?:task|to[- ]?do|todo item)\s*(?:to\s+|:\s*|-\s*)?(.+)$/i,
  /^(?:to[- ]?do|task|todo)\s*[:-]?\s+(.+)$/i,
  new RegExp(String.raw`^(?:add|put|write|stick)\s+(.+?)\s+(?:to|on|onto|in)\s+(?:my|the)\s+(?:shopping\s+|grocery\s+)?${LIST_WORDS}$`, "i"),
  /^(?:i (?:still |really |also |just )?(?:need|have|must|should|gotta|ought) to|i've got to|don't forget to|note to self:?)\s+(.+)$/i,
];
const LIST = new RegExp(
  String.raw`^(?:(?:what|which|list|show|see|any|read|tell me)\b.*\b${LIST_WORDS}\b|(?:my|open|all)\s+${LIST_WORDS}|${LIST_WORDS}\??$|what(?:'s| is| do i have| else do i have)? (?:left )?(?:to do|on my (?:plate|list))|what (?:do|should) i (?:need|have) to do)`,
  "i",
);
const DONE = [
  /^(?:done|completed?|finish(?:ed)?|mark|tick off|tick|check off|cross off|i (?:did|finished|completed)|i(?:'ve| have) (?:done|finished|completed))\s+(?:with\s+)?(?:task\s+|to[- ]?do\s+)?(?:the\s+)?(.+?)(?:\s+(?:as\s+)?(?:done|complete|completed|finished))?$/i,
  /^(?:task\s+)?#?(.+?)\s+(?:is|are)\s+(?:done|complete|completed|finished)$/i,
];
const DELETE = [
  new RegExp(String.raw`^(?:delete|remove|drop|scratch|cross out|get rid of)\s+(?:task\s+|to[- ]?do\s+)?(?:the\s+)?(.+?)(?:\s+(?:task|to[- ]?do))?(?:\s+from\s+(?:my|the)\s+${LIST_WORDS})?$`, "i"),
];

function add(body: string): Intent {
  return {
    domain: "tasks",
    run(act) {
      const t = /\b(?:by|before|due|until)\b/i.test(body) ? timeIn(act, body) : null;
      const title = (t ? t.rest.replace(/\s+(?:by|before|due|until)$/i, "") : body).trim().replace(/^(['"])(.+)\1$/, "$2");
      const { task } = act.call<{ task: TaskRow }>("add_task", { title, due: t?.when });
      return `Added task #${task.id}: ${task.title}${task.due_at ? ` (due ${localLabel(task.due_at, act.zone)})` : ""}.`;
    },
  };
}

/** A task named by its number ("3", "#3", "number 3") or by words from its title. */
function find(act: Act, which: string): TaskRow | string {
  const id = which.match(/^(?:number\s+|no\.?\s*|#)?(\d+)$/i);
  if (id) return { id: Number(id[1]) } as TaskRow;
  const open = act.call<{ tasks: TaskRow[] }>("list_tasks", {}).tasks;
  // "the first task", "the last one": a place in the list as it is shown.
  const place = which.match(/^(first|second|third|fourth|fifth|last)(?:\s+(?:one|task|item|to[- ]?do))?$/i);
  if (place) {
    const i = ["first", "second", "third", "fourth", "fifth"].indexOf(place[1]!.toLowerCase());
    const t = i < 0 ? open.at(-1) : open[i];
    return t ?? `You have only ${open.length} open task${open.length === 1 ? "" : "s"}.`;
  }
  return pickByName(open, which, (t) => t.title, (t) => `#${t.id} ${t.title}`, `I couldn't find an open task called "${which}". Say "what are my tasks" to see them.`);
}

function complete(which: string): Intent {
  return onNamed("tasks", (act) => find(act, which), (act, t) => {
    const { task, alreadyDone } = act.call<{ task: TaskRow; alreadyDone: boolean }>("complete_task", { id: t.id });
    return alreadyDone ? `Task #${task.id} (${task.title}) was already done.` : `Done: ${task.title}. ✓`;
  });
}

function remove(which: string): Intent {
  if (/^(?:everything|all|all (?:my |the )?(?:tasks|to[- ]?dos))$/i.test(which)) return { domain: "tasks", run: () => "I only delete one task at a time: tell me which (a number or its name)." };
  return onNamed("tasks", (act) => find(act, which), (act, t) => {
    const { deleted } = act.call<{ deleted: TaskRow }>("delete_task", { id: t.id });
    return `Deleted task #${deleted.id}: ${deleted.title}.`;
  });
}

const list: Intent = {
  domain: "tasks",
  run(act) {
    const { tasks } = act.call<{ tasks: TaskRow[] }>("list_tasks", {});
    if (tasks.length === 0) return "You have no open tasks. Nice!";
    return ["Your open tasks:", ...tasks.map((t) => `#${t.id} ${t.title}${t.due_at ? ` (due ${localLabel(t.due_at, act.zone)})` : ""}`)].join("\n");
  },
};

/** "done 3", "mark 3 done": a number or words; never a reminder, event or fact (those have their own words). */
const OTHER_KINDS = /\b(?:reminders?|events?|appointments?|meetings?|facts?|contacts?)\b/i;

export const recogniseTask: Recogniser = (clause) => {
  if (LIST.test(clause) && !OTHER_KINDS.test(clause)) return list;
  for (const re of DONE) {
    const m = clause.match(re);
    if (m && !OTHER_KINDS.test(clause)) return complete(m[1]!.trim());
  }
  for (const re of DELETE) {
    const m = clause.match(re);
    if (m && !OTHER_KINDS.test(clause)) return remove(m[1]!.trim());
  }
  for (const re of ADD) {
    const m = clause.match(re);
    if (m) return add(m[1]!.trim());
  }
  return null;
};
