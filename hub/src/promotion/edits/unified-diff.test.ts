import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { unifiedDiff } from "./index.js";

const lines = (n: number, change?: Record<number, string>): string =>
  Array.from({ length: n }, (_, i) => change?.[i + 1] ?? `line ${i + 1}`)
    .map((l) => `${l}\n`)
    .join("");

/** Applies a unified diff to `before` the way patch does, checking every context and removed line. */
function patch(before: string, diff: string): string {
  if (diff === "") return before;
  const a = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const out: string[] = [];
  let at = 0;
  let noNewlineAfter = !before.endsWith("\n") && before !== "";
  const body = diff.split("\n").slice(2, -1);
  let last: string | undefined;
  for (const line of body) {
    const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(line);
    if (header) {
      const start = Number(header[1]) - (header[2] === "0" ? 0 : 1);
      while (at < start) out.push(a[at++] as string);
      continue;
    }
    if (line === "\\ No newline at end of file") {
      noNewlineAfter = last !== "-";
      continue;
    }
    last = line[0];
    const content = line.slice(1);
    if (line[0] === " " || line[0] === "-") {
      assert.equal(a[at], content, `patch expected ${JSON.stringify(content)} at line ${at + 1}`);
      at += 1;
      if (line[0] === " ") out.push(content);
      if (line[0] === " ") noNewlineAfter = false;
    } else if (line[0] === "+") {
      out.push(content);
      noNewlineAfter = false;
    }
  }
  while (at < a.length) out.push(a[at++] as string);
  if (out.length === 0) return "";
  return out.join("\n") + (noNewlineAfter ? "" : "\n");
}

void describe("unified diffs", () => {
  void test("one changed line with three lines of context", () => {
    assert.equal(
      unifiedDiff("apps/web/prod-us/kustomization.yaml", lines(10), lines(10, { 5: "line five" })),
      ["--- a/apps/web/prod-us/kustomization.yaml", "+++ b/apps/web/prod-us/kustomization.yaml", "@@ -2,7 +2,7 @@", " line 2", " line 3", " line 4", "-line 5", "+line five", " line 6", " line 7", " line 8", ""].join("\n"),
    );
  });

  void test("changes far apart get their own hunks; close ones share one", () => {
    const far = unifiedDiff("f", lines(30), lines(30, { 2: "two", 25: "twenty-five" }));
    assert.deepEqual(far.split("\n").filter((l) => l.startsWith("@@")), ["@@ -1,5 +1,5 @@", "@@ -22,7 +22,7 @@"]);
    const close = unifiedDiff("f", lines(30), lines(30, { 2: "two", 8: "eight" }));
    assert.deepEqual(close.split("\n").filter((l) => l.startsWith("@@")), ["@@ -1,11 +1,11 @@"]);
  });

  void test("created and deleted files diff against /dev/null", () => {
    assert.equal(unifiedDiff("s.json", undefined, "{}\n"), "--- /dev/null\n+++ b/s.json\n@@ -0,0 +1 @@\n+{}\n");
    assert.equal(unifiedDiff("s.json", "a\nb\n", undefined), "--- a/s.json\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n");
  });

  void test("a missing final line break is shown", () => {
    assert.equal(unifiedDiff("f", "a\nb", "a\nb\n"), "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
    assert.equal(unifiedDiff("f", "a\n", "a\nc"), "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+c\n\\ No newline at end of file\n");
  });

  void test("equal contents give no diff", () => {
    assert.equal(unifiedDiff("f", "a\n", "a\n"), "");
    assert.equal(unifiedDiff("f", undefined, undefined), "");
  });

  void test("over random edits, patching the old text with the diff gives the new one, and the diff is minimal in removed plus added lines", () => {
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const words = ["a", "b", "c", "d", "e"];
    const text = (n: number): string => Array.from({ length: n }, () => words[random(words.length)]).join("\n") + (random(4) === 0 ? "" : "\n");
    for (let i = 0; i < 400; i += 1) {
      const before = text(random(25));
      const after = random(3) === 0 ? before.replace(/\n?$/, "") + "\nz\n" : text(random(25));
      const diff = unifiedDiff("f", before, after);
      assert.equal(patch(before, diff), after, `${JSON.stringify(before)} -> ${JSON.stringify(after)}:\n${diff}`);
      const changedLines = diff.split("\n").filter((l) => /^[-+](?![-+]{2} )/.test(l)).length;
      assert.ok(changedLines <= editDistance(before, after), diff);
    }
  });
});

/** Lines removed plus lines added by the shortest edit, by plain dynamic programming (LCS). */
function editDistance(before: string, after: string): number {
  const split = (t: string): string[] => (t === "" ? [] : t.endsWith("\n") ? t.slice(0, -1).split("\n") : [...t.split("\n").slice(0, -1), `${t.split("\n").at(-1)}\u0000`]);
  const a = split(before);
  const b = split(after);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      const row = lcs[i] as number[];
      row[j] = a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  return a.length + b.length - 2 * (lcs[0]?.[0] ?? 0);
}
