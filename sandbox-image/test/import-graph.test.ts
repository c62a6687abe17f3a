import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const SRC = resolve(__dirname, "../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** The agent's own modules a file imports: `import`, `import type`, `export … from` and `require`. */
function localImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => resolve(dirname(file), name))
    .map((base) => [`${base}.ts`, join(base, "index.ts")].find((f) => existsSync(f)))
    .filter((f): f is string => f !== undefined);
}

/** Every cycle met by a depth-first walk, each as the chain of files that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string) => {
    const at = path.indexOf(file);
    if (at >= 0) return void found.push([...path.slice(at), file]);
    if (done.has(file)) return;
    path.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path.pop();
    done.add(file);
  };
  for (const file of graph.keys()) visit(file);
  return found;
}

describe("the agent's import graph", () => {
  it("has no cycle, type-only imports included", () => {
    const graph = new Map(sources(SRC).map((f) => [f, localImports(f)]));
    expect(graph.size).toBeGreaterThan(50);
    // The walk sees edges at all: the process starts the agent, and a folder's index counts.
    expect(graph.get(join(SRC, "main.ts"))).toEqual(expect.arrayContaining([join(SRC, "agent.ts"), join(SRC, "gateway/index.ts")]));
    expect(cycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(" -> "))).toEqual([]);
  });
});
