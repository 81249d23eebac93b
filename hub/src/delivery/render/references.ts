// What a variable reference is, in one place for the parser (which notes unquoted ones) and for
// substitution: `${name}` or `${name:=default}`, with `name` a variable name and the default
// literal text up to the first `}`. Any other `${...}` is not a reference.
import { VARIABLE_NAME } from "../fleet/index.js";

const NAME = VARIABLE_NAME.source.replace(/^\^/, "").replace(/\$$/, "");
const BODY = `\\$\\{(${NAME})(?::=([^}]*))?\\}`;
const STICKY = new RegExp(BODY, "y");
const WHOLE = new RegExp(`^${BODY}$`);

/** The reference starting exactly at `at` in `text`: its length, name and default; or undefined. */
export function referenceAt(text: string, at: number): { length: number; name: string; default: string | undefined } | undefined {
  STICKY.lastIndex = at;
  const match = STICKY.exec(text);
  return match === null ? undefined : { length: match[0].length, name: match[1] ?? "", default: match[2] };
}

/** True when `text` is exactly one reference, `${name}` or `${name:=default}`. */
export function isSingleReference(text: string): boolean {
  return WHOLE.test(text);
}
