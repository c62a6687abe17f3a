/**
 * SCHEMA.md as the model reads it: the conventions paragraph, then one line per table with its
 * columns. The full tables (types, meanings) stay in the file for people and for the test that
 * checks them against the live database; the model only needs the names, and the values a column
 * may take (the backticked words in its meaning, such as `open` or `done`). This cuts the largest
 * workspace file to about a quarter of its tokens.
 */
export function compactSchema(md: string): string {
  const lines = md.split("\n");
  const intro: string[] = [];
  const tables: string[] = [];
  let table: { name: string; columns: string[] } | null = null;
  const flush = () => {
    if (table) tables.push(`${table.name}(${table.columns.join(", ")})`);
    table = null;
  };
  for (const line of lines) {
    const heading = line.match(/^## `([A-Za-z_][\w]*)`/);
    if (heading) {
      flush();
      table = { name: heading[1]!, columns: [] };
      continue;
    }
    const row = line.match(/^\|\s*`([A-Za-z_]\w*)`\s*\|[^|]*\|(.*)\|\s*$/);
    if (row && table) {
      const values = [...row[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((v) => !v.includes(" ") || v.length < 20);
      table.columns.push(values.length > 1 ? `${row[1]} ${values.join("|")}` : row[1]!);
      continue;
    }
    if (!table && !line.startsWith("|") && !/^#\s/.test(line)) intro.push(line);
  }
  flush();
  // A file that does not follow the table layout (a user's own notes) is kept as it is.
  if (tables.length === 0) return md;
  const title = lines.find((l) => /^#\s/.test(l)) ?? "# Database schema";
  return [title, intro.join("\n").trim(), "Tables (columns):", ...tables].filter(Boolean).join("\n");
}
