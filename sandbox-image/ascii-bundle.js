"use strict";
/**
 * Makes the bundle ASCII-only, for memory: V8 holds a script's source for as long as the script
 * lives, as a one-byte string when every character is Latin-1 and as a two-byte string otherwise,
 * and Node reads a CommonJS file as one string. A single en dash in a regular expression
 * (`/[-–—]/`) doubles the held source of the whole ~1 MiB bundle. esbuild already escapes every
 * non-ASCII character in strings, templates and identifiers (its default `charset: "ascii"`) but
 * not in regular expression literals (evanw/esbuild#4205), so this escapes those: `\uXXXX`, and
 * `\u{…}` for a character beyond the BMP under the `u`/`v` flags (a surrogate pair without them,
 * which is what the literal character means there). The expressions match exactly as before; only
 * their `.source` reads escaped, and nothing in the agent reads it.
 *
 *   escapeNonAscii(code) -> code, or throws if anything non-ASCII is left
 */
const ts = require("typescript");

const hex = (n, width) => n.toString(16).toUpperCase().padStart(width, "0");

function escapeRegExp(literal) {
  const flags = literal.slice(literal.lastIndexOf("/") + 1);
  const unicode = /[uv]/.test(flags);
  let out = "";
  for (const ch of literal) {
    const cp = ch.codePointAt(0);
    if (cp < 0x80) {
      out += ch;
      continue;
    }
    // `\é` (an identity escape) would turn into `\\u00E9`, a backslash and "u00E9": not ours to guess.
    if (/(^|[^\\])(\\\\)*\\$/.test(out)) throw new Error(`escaped non-ASCII character in ${literal.slice(0, 80)}`);
    if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
    else if (unicode) out += `\\u{${hex(cp, 1)}}`;
    else out += [...ch.split("")].map((u) => `\\u${hex(u.charCodeAt(0), 4)}`).join("");
  }
  return out;
}

function escapeNonAscii(code) {
  if (!/[^\x00-\x7f]/.test(code)) return code;
  const file = ts.createSourceFile("bundle.js", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const edits = [];
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const start = node.getStart(file);
      const text = code.slice(start, node.end);
      if (/[^\x00-\x7f]/.test(text)) edits.push({ start, end: node.end, text: escapeRegExp(text) });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = "";
  let at = 0;
  for (const e of edits) {
    out += code.slice(at, e.start) + e.text;
    at = e.end;
  }
  out += code.slice(at);
  const left = /[^\x00-\x7f]/.exec(out);
  if (left) throw new Error(`non-ASCII character left outside a regular expression: ${JSON.stringify(out.slice(Math.max(0, left.index - 40), left.index + 40))}`);
  return out;
}

module.exports = { escapeNonAscii };
