import { listTables } from "../db/open-database";
import type { MethodHandler } from "./method-handler";

/** data.export: every table and every workspace file, read through the read-only connection. */
export const dataExport: MethodHandler<"data.export"> = async (ctx) => {
  const db = ctx.readonlyDb;
  const tables: Record<string, Record<string, unknown>[]> = {};
  // Table names come from sqlite_master itself, quoted as identifiers; nothing user-supplied.
  for (const name of listTables(db)) tables[name] = db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Record<string, unknown>[];
  return { exportedAt: ctx.clock().toISOString(), tables, workspace: ctx.workspace.readAll() };
};
