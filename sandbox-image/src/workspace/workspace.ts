import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, posix, relative, sep } from "node:path";
import { AgentError } from "../agent-error";

/** Written after the first copy: templates are copied once and never again, even if files are deleted. */
const MARKER = ".initialized";

/**
 * The user's markdown workspace. Every path from outside is relative to the root and stays inside
 * it: absolute paths, `..` segments and symlinks that lead out are refused.
 */
export class Workspace {
  readonly root: string;

  constructor(root: string) {
    mkdirSync(root, { recursive: true });
    this.root = realpathSync(root);
  }

  /** Whether the templates were copied once (on an earlier boot or this one). */
  initialized(): boolean {
    return existsSync(join(this.root, MARKER));
  }

  /** Copies the templates on first boot. Returns true when it did. */
  initFrom(templatesDir: string): boolean {
    if (this.initialized()) return false;
    // Without templates (a misconfigured path) leave no marker, so a fixed boot still copies them.
    if (!existsSync(templatesDir)) return false;
    // force:false: a file already there (a restored backup) wins over the template.
    cpSync(templatesDir, this.root, { recursive: true, force: false, errorOnExist: false });
    writeFileSync(join(this.root, MARKER), new Date().toISOString());
    return true;
  }

  /** Normalised relative path, or a bad_request for anything that could leave the workspace. */
  normalise(path: string): string {
    if (path.includes("\0")) throw new AgentError("bad_request", "path contains a NUL byte");
    const p = path.replace(/\\/g, "/");
    if (isAbsolute(path) || p.startsWith("/") || /^[A-Za-z]:/.test(p)) throw new AgentError("bad_request", "path must be relative to the workspace");
    if (p.split("/").some((seg) => seg === "..")) throw new AgentError("bad_request", "path must not contain '..'");
    const norm = posix.normalize(p).replace(/^(\.\/)+/, "");
    if (norm === "" || norm === "." || norm.endsWith("/")) throw new AgentError("bad_request", "path must name a file");
    if (norm.split("/").some((seg) => seg.startsWith("."))) throw new AgentError("bad_request", "hidden files are not part of the workspace");
    return norm;
  }

  private inside(real: string): boolean {
    const rel = relative(this.root, real);
    return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  }

  /** The absolute path, after checking that what exists of it resolves inside the root. */
  private resolveExisting(rel: string): string {
    const abs = join(this.root, ...rel.split("/"));
    let probe = abs;
    while (!existsSync(probe) && probe !== this.root) probe = dirname(probe);
    if (!this.inside(realpathSync(probe))) throw new AgentError("bad_request", "path leads outside the workspace");
    return abs;
  }

  read(path: string): { path: string; content: string } {
    const rel = this.normalise(path);
    const abs = this.resolveExisting(rel);
    if (!existsSync(abs) || !statSync(abs).isFile()) throw new AgentError("not_found", `no file ${rel} in the workspace`);
    return { path: rel, content: readFileSync(abs, "utf8") };
  }

  /** Returns null when the file does not exist (for prompt building). */
  readOptional(path: string): string | null {
    try {
      return this.read(path).content;
    } catch (err) {
      if (err instanceof AgentError && err.code === "not_found") return null;
      throw err;
    }
  }

  write(path: string, content: string): { path: string; bytes: number } {
    const rel = this.normalise(path);
    const abs = this.resolveExisting(rel);
    if (existsSync(abs) && lstatSync(abs).isSymbolicLink()) throw new AgentError("bad_request", "path is a symlink");
    if (existsSync(abs) && statSync(abs).isDirectory()) throw new AgentError("bad_request", "path is a directory");
    mkdirSync(dirname(abs), { recursive: true });
    // Write then rename: a crash mid-write never leaves half a SOUL.md.
    const tmp = join(dirname(abs), `.${process.pid}.${Date.now()}.tmp`);
    writeFileSync(tmp, content, "utf8");
    renameSync(tmp, abs);
    return { path: rel, bytes: Buffer.byteLength(content, "utf8") };
  }

  append(path: string, content: string): void {
    const current = this.readOptional(path) ?? "";
    this.write(path, current + content);
  }

  /** Every regular file, recursively; symlinks and hidden files are skipped. */
  list(): { path: string; bytes: number }[] {
    const out: { path: string; bytes: number }[] = [];
    const walk = (dir: string) => {
      for (const ent of readdirSync(dir, { withFileTypes: true })) {
        if (ent.name.startsWith(".") || ent.isSymbolicLink()) continue;
        const abs = join(dir, ent.name);
        if (ent.isDirectory()) walk(abs);
        else if (ent.isFile()) out.push({ path: relative(this.root, abs).split(sep).join("/"), bytes: statSync(abs).size });
      }
    };
    walk(this.root);
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  readAll(): Record<string, string> {
    const files: Record<string, string> = {};
    for (const f of this.list()) files[f.path] = readFileSync(join(this.root, ...f.path.split("/")), "utf8");
    return files;
  }
}
