import { z } from "zod/v4";
import { defineTool, ToolError } from "./tool";

const MAX_ROWS = 200;

/**
 * Read-only SQL over the agent's own database, for questions no other tool answers. Three fences:
 * a read-only connection (SQLite refuses writes), `stmt.readonly` (refuses statements that would
 * write, such as an ATTACH or a write PRAGMA), and better-sqlite3's refusal of multiple statements.
 * Only SELECT/WITH are accepted so the model cannot probe PRAGMAs either.
 */
export const queryDatabase = defineTool({
  name: "query_database",
  description: `Run one read-only SELECT on the user's SQLite database (tables described in SCHEMA.md). At most ${MAX_ROWS} rows.`,
  schema: () => z.object({ sql: z.string().min(1).max(5000) }),
  run(ctx, a) {
    const sql = a.sql.trim().replace(/;\s*$/, "");
    if (!/^(select|with)\b/i.test(sql)) throw new ToolError("Only a single SELECT statement is allowed.");
    // better-sqlite3 cannot interrupt a running statement, and an unbounded recursive CTE under an
    // aggregate would block the agent forever; the schema has no trees that would need one.
    if (/\brecursive\b/i.test(sql)) throw new ToolError("Recursive queries are not allowed.");
    let stmt;
    try {
      stmt = ctx.readonlyDb.prepare(sql);
    } catch (err) {
      throw new ToolError(`That query is not valid: ${(err as Error).message}`);
    }
    if (!stmt.readonly || !stmt.reader) throw new ToolError("Only a single SELECT statement is allowed.");
    const rows: unknown[] = [];
    let truncated = false;
    try {
      // iterate() streams, so a huge result stops at the cap instead of filling memory.
      for (const row of stmt.iterate()) {
        if (rows.length >= MAX_ROWS) {
          truncated = true;
          break;
        }
        rows.push(row);
      }
    } catch (err) {
      throw new ToolError(`The query failed: ${(err as Error).message}`);
    }
    return { rows, rowCount: rows.length, truncated };
  },
});
