import { z } from "zod/v4";
import { defineTool, ToolError, type ToolContext } from "./tool";
import { ById } from "./tool-parts";

/** LIKE patterns from user text: escape the wildcards so "50%" means 50%. */
function likePattern(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export const addContact = defineTool({
  name: "add_contact",
  description: "Save a contact (a person the user mentions, with phone or email).",
  schema: () => z.object({
    name: z.string().min(1).max(200),
    phone: z.string().max(40).optional(),
    email: z.string().max(200).optional(),
    relationship: z.string().max(100).optional(),
    notes: z.string().max(1000).optional(),
  }),
  run(ctx, a) {
    const info = ctx.db
      .prepare("INSERT INTO contacts (name, phone, email, relationship, notes, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(a.name.trim(), a.phone ?? null, a.email ?? null, a.relationship ?? null, a.notes ?? null, ctx.now().toISOString());
    return { contact: { id: Number(info.lastInsertRowid), ...a } };
  },
});

export const findContact = defineTool({
  name: "find_contact",
  description: "Find contacts by name, relationship, phone, email or notes.",
  schema: () => z.object({ query: z.string().min(1).max(200) }),
  run(ctx, a) {
    const p = likePattern(a.query);
    const contacts = ctx.db
      .prepare(
        `SELECT * FROM contacts WHERE name LIKE @p ESCAPE '\\' OR relationship LIKE @p ESCAPE '\\'
         OR phone LIKE @p ESCAPE '\\' OR email LIKE @p ESCAPE '\\' OR notes LIKE @p ESCAPE '\\' ORDER BY name LIMIT 20`,
      )
      .all({ p });
    return { contacts };
  },
});

export function insertFact(ctx: ToolContext, fact: string, category = "general") {
  const existing = ctx.db.prepare("SELECT id FROM memory_facts WHERE fact = ? COLLATE NOCASE").get(fact.trim()) as { id: number } | undefined;
  if (existing) return { id: existing.id, fact: fact.trim(), alreadyKnown: true };
  const info = ctx.db
    .prepare("INSERT INTO memory_facts (fact, category, created_at) VALUES (?, ?, ?)")
    .run(fact.trim(), category, ctx.now().toISOString());
  return { id: Number(info.lastInsertRowid), fact: fact.trim(), alreadyKnown: false };
}

export const remember = defineTool({
  name: "remember",
  description: "Store a durable fact about the user (preferences, people, routines).",
  schema: () => z.object({ fact: z.string().min(1).max(1000), category: z.string().max(60).optional() }),
  run: (ctx, a) => ({ memory: insertFact(ctx, a.fact, a.category) }),
});

export const recall = defineTool({
  name: "recall",
  description: "Search stored facts; without a query, the most recent ones.",
  schema: () => z.object({ query: z.string().max(200).optional() }),
  run(ctx, a) {
    const facts = a.query
      ? ctx.db.prepare("SELECT * FROM memory_facts WHERE fact LIKE ? ESCAPE '\\' OR category LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT 50").all(likePattern(a.query), likePattern(a.query))
      : ctx.db.prepare("SELECT * FROM memory_facts ORDER BY id DESC LIMIT 50").all();
    return { facts };
  },
});

export const forget = defineTool({
  name: "forget",
  description: "Delete a stored fact by id.",
  schema: ById,
  run(ctx, a) {
    const r = ctx.db.prepare("DELETE FROM memory_facts WHERE id = ?").run(a.id);
    if (r.changes === 0) throw new ToolError(`There is no fact #${a.id}.`, "not_found");
    return { forgotten: a.id };
  },
});

export const PEOPLE_TOOLS = [addContact, findContact, remember, recall, forget];
