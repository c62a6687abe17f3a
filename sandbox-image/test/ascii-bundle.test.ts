import { runInNewContext } from "node:vm";

// A CommonJS helper of the image's bundle step (sandbox-image/bundle.js), not agent code: typed here.
const { escapeNonAscii } = require("../ascii-bundle.js") as { escapeNonAscii: (code: string) => string };

const evaluate = (code: string): unknown => runInNewContext(code);

// Code as esbuild leaves it: strings already escaped (\u2013), regular expression literals not.
describe("escapeNonAscii (the bundle's source held as a one-byte string)", () => {
  it("escapes the characters of regular expression literals, which then match what they matched before", () => {
    const code = String.raw`[/^\s*(to|-|–|until)\s+/.test(" \u2013 3"), /[€£¥₹]/.test("5\u20AC"), /café/i.exec("CAF\xC9")?.[0], /[–—]/.test("a-b")]`;
    const out = escapeNonAscii(code);
    expect(out).toMatch(/^[\x00-\x7f]*$/);
    expect(out).toContain(String.raw`/[\u20AC\u00A3\u00A5\u20B9]/`);
    expect(evaluate(out)).toEqual(evaluate(code));
    expect(evaluate(out)).toEqual([true, true, "CAFÉ", false]);
  });

  it("keeps a character beyond the BMP one character under the u flag, and a surrogate pair without it", () => {
    const code = String.raw`[/^[😀x]$/u.test("\u{1F600}"), /^😀$/.test("\u{1F600}"), /^.$/u.test("\u{1F600}"), /^[😀]$/.test("\u{1F600}")]`;
    const out = escapeNonAscii(code);
    expect(out).toContain(String.raw`/^[\u{1F600}x]$/u`);
    expect(out).toContain(String.raw`/^\uD83D\uDE00$/`);
    expect(evaluate(out)).toEqual(evaluate(code));
    expect(evaluate(out)).toEqual([true, true, true, false]);
  });

  it("leaves ASCII code as it is, and tells what esbuild left unescaped outside a regular expression", () => {
    const ascii = String.raw`const a = /[a-z]+/g; "\u2013"`;
    expect(escapeNonAscii(ascii)).toBe(ascii);
    expect(() => escapeNonAscii('const a = "–"; /–/')).toThrow(/outside a regular expression: .*const a = /);
  });

  it("refuses an identity escape of a non-ASCII character rather than change what it means", () => {
    expect(() => escapeNonAscii(String.raw`/a\–b/`)).toThrow(/escaped non-ASCII/);
    expect(evaluate(escapeNonAscii(String.raw`/a\\–b/.test("a\\\u2013b")`))).toBe(true);
  });
});
