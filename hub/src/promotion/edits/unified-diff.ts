// Unified diffs of one file (`diff -u` style, 3 lines of context) for dry runs, promotion records
// and the CLI. The line diff is Myers' O((N+M)D) algorithm: promotions change a few lines of
// small files, so D stays small.

const CONTEXT = 3;

type Op = { kind: " " | "-" | "+"; line: string };

/**
 * The unified diff from `before` to `after` of `file` (undefined: the file does not exist);
 * "" when they are equal. Headers are `--- a/file` and `+++ b/file`, /dev/null for a side that
 * does not exist; a last line without a line break is marked as diff marks it.
 */
export function unifiedDiff(file: string, before: string | undefined, after: string | undefined): string {
  if (before === after) return "";
  const a = splitLines(before ?? "");
  const b = splitLines(after ?? "");
  const ops = diffLines(a, b);
  const out = [`--- ${before === undefined ? "/dev/null" : `a/${file}`}`, `+++ ${after === undefined ? "/dev/null" : `b/${file}`}`];
  for (const hunk of hunks(ops)) {
    out.push(`@@ -${range(hunk.aStart, hunk.aCount)} +${range(hunk.bStart, hunk.bCount)} @@`);
    for (const op of hunk.ops) {
      if (op.line.endsWith(NO_NEWLINE)) out.push(`${op.kind}${op.line.slice(0, -NO_NEWLINE.length)}`, "\\ No newline at end of file");
      else out.push(`${op.kind}${op.line}`);
    }
  }
  return `${out.join("\n")}\n`;
}

/** Marks a last line without a line break, so it differs from the same line with one. */
const NO_NEWLINE = "\u0000no-newline";

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  else lines[lines.length - 1] += NO_NEWLINE;
  return lines;
}

function range(start: number, count: number): string {
  // diff writes an empty side as the line before it, and a one-line side without its count.
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

/** The shortest edit script from `a` to `b` (Myers), as kept, removed and added lines in order. */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d += 1) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0)) ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
    v = next;
  }
  // Walk the trace back from (n, m) to (0, 0).
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d -= 1) {
    const prev = trace[d] as Int32Array;
    const k = x - y;
    const down = k === -d || (k !== d && (prev[offset + k - 1] ?? 0) < (prev[offset + k + 1] ?? 0));
    const prevK = down ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : (prev[offset + prevK] ?? 0);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x -= 1;
      y -= 1;
      ops.push({ kind: " ", line: a[x] as string });
    }
    if (d > 0) {
      if (down) {
        y -= 1;
        ops.push({ kind: "+", line: b[y] as string });
      } else {
        x -= 1;
        ops.push({ kind: "-", line: a[x] as string });
      }
    }
  }
  return ops.reverse();
}

interface Hunk {
  aStart: number;
  aCount: number;
  bStart: number;
  bCount: number;
  ops: Op[];
}

/** Groups changes with up to 3 lines of context around them; changes closer than 7 lines share a hunk. */
function hunks(ops: readonly Op[]): Hunk[] {
  const changes = ops.flatMap((op, index) => (op.kind === " " ? [] : [index]));
  const out: Hunk[] = [];
  let i = 0;
  while (i < changes.length) {
    const first = changes[i] as number;
    let last = first;
    while (i + 1 < changes.length && (changes[i + 1] as number) - last <= 2 * CONTEXT + 1) {
      i += 1;
      last = changes[i] as number;
    }
    i += 1;
    const from = Math.max(0, first - CONTEXT);
    const to = Math.min(ops.length - 1, last + CONTEXT);
    const slice = ops.slice(from, to + 1);
    let aStart = 0;
    let bStart = 0;
    for (const op of ops.slice(0, from)) {
      if (op.kind !== "+") aStart += 1;
      if (op.kind !== "-") bStart += 1;
    }
    const aCount = slice.filter((op) => op.kind !== "+").length;
    const bCount = slice.filter((op) => op.kind !== "-").length;
    out.push({ aStart, aCount, bStart, bCount, ops: slice });
  }
  return out;
}
