// The paths of promotable fields in fleet.yaml (`data.version`, `spec.containers[name=web].image`,
// `items[0]`, `data["app.properties"]`): parsed once here so fleet.yaml validation and the
// promotion edits agree on what a path means.

/** One step into a YAML value: a map key, a list index, or the list item whose `match` key equals `equals`. */
export type PathSegment = string | number | { readonly match: string; readonly equals: string };

const PLAIN_KEY = /^[^.[\]"\s]+$/;

/**
 * Parses a field path: keys separated by dots, `[n]` for a list index, `[key=value]` for the list
 * item whose `key` is `value`, and `["any key"]` for a key holding dots, brackets or spaces.
 * Returns the segments, or a problem (phrased to follow the path in a message).
 */
export function parseValuePath(text: string): { segments: PathSegment[] } | { problem: string } {
  const segments: PathSegment[] = [];
  let i = 0;
  const fail = (why: string): { problem: string } => ({ problem: `is not a field path: ${why}; write keys separated by dots, [n] for a list index, [key=value] for a list item, e.g. spec.containers[name=web].image` });
  if (text === "") return fail("it is empty");
  while (i < text.length) {
    const c = text[i];
    if (c === "[") {
      const end = closingBracket(text, i);
      if (end === -1) return fail(`the "[" at character ${i + 1} is not closed`);
      const inner = text.slice(i + 1, end);
      const segment = bracketSegment(inner);
      if (segment === undefined) return fail(`[${inner}] is neither an index, a quoted key nor key=value`);
      segments.push(segment);
      i = end + 1;
    } else {
      if (segments.length > 0) {
        if (c !== ".") return fail(`expected "." or "[" at character ${i + 1}`);
        i += 1;
        if (text[i] === "[") {
          if (text[i + 1] !== '"') return fail(`"." must be followed by a key at character ${i + 1}`);
          continue;
        }
      }
      let end = i;
      while (end < text.length && text[end] !== "." && text[end] !== "[") end += 1;
      const key = text.slice(i, end);
      if (key === "") return fail(`an empty key at character ${i + 1}`);
      if (!PLAIN_KEY.test(key)) return fail(`the key ${JSON.stringify(key)} needs quoting as ["${key}"]`);
      segments.push(key);
      i = end;
    }
  }
  return { segments };
}

/** The path in the syntax {@link parseValuePath} reads. */
export function formatValuePath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "object") out += `[${segment.match}=${segment.equals}]`;
    else if (PLAIN_KEY.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function closingBracket(text: string, open: number): number {
  if (text[open + 1] === '"') {
    // A quoted key may hold "]": find the closing quote first (JSON escapes allowed).
    for (let j = open + 2; j < text.length; j += 1) {
      if (text[j] === "\\") j += 1;
      else if (text[j] === '"') return text[j + 1] === "]" ? j + 1 : -1;
    }
    return -1;
  }
  return text.indexOf("]", open);
}

function bracketSegment(inner: string): PathSegment | undefined {
  if (/^\d+$/.test(inner)) return Number(inner);
  if (inner.startsWith('"')) {
    try {
      const key = JSON.parse(inner) as unknown;
      return typeof key === "string" && key !== "" ? key : undefined;
    } catch {
      return undefined;
    }
  }
  const eq = inner.indexOf("=");
  if (eq <= 0 || eq === inner.length - 1) return undefined;
  const match = inner.slice(0, eq).trim();
  const equals = inner.slice(eq + 1).trim();
  if (match === "" || equals === "" || /[[\]]/.test(match)) return undefined;
  return { match, equals };
}
