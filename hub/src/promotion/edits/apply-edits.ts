// Applying structured edits to the files of a commit, forward (a promotion) or in reverse (its
// rollback). Each edit checks the value it finds: the one it expects (it is then changed), the
// one it would write (it is skipped), or anything else, which is a conflict with a change made
// since the edits were computed. Nothing is rebased as text.
import { createHash } from "node:crypto";
import { EditError } from "./edit-error.js";
import { readText } from "./stage-values.js";
import { setValue } from "./yaml-edit.js";
import { parseYamlSource, valueAt } from "./yaml-source.js";
import type { AppliedEdits, Edit, EditConflict, EditValue } from "./types.js";

/**
 * Applies `edits` (or, with "reverse", undoes them) to `files`. Values are set before keys are
 * removed, so a switch from a tag to a digest keeps the images entry where it was. `changed`
 * holds every file whose content changed; callers refuse to commit when `conflicts` is not empty.
 */
export function applyEdits(files: ReadonlyMap<string, Uint8Array>, edits: readonly Edit[], direction: "forward" | "reverse" = "forward"): AppliedEdits {
  const texts = new Map<string, string | undefined>();
  const original = new Map<string, string | undefined>();
  const conflicts: EditConflict[] = [];
  let pending = 0;
  const current = (file: string): string | undefined => {
    if (!texts.has(file)) {
      const text = readText(files, file);
      texts.set(file, text);
      original.set(file, text);
    }
    return texts.get(file);
  };
  const ordered = [...edits].sort((a, b) => order(a, direction) - order(b, direction));
  for (const edit of ordered) {
    if (edit.kind === "file") {
      const expected = direction === "forward" ? edit.before : edit.after;
      const target = direction === "forward" ? edit.after : edit.before;
      const found = current(edit.file);
      if (found === target) continue;
      if (found !== expected) {
        conflicts.push(fileConflict(edit.file, expected, found));
        continue;
      }
      texts.set(edit.file, target);
      pending += 1;
      continue;
    }
    const expected = direction === "forward" ? edit.before : edit.after;
    const target = direction === "forward" ? edit.after : edit.before;
    const text = current(edit.file);
    if (text === undefined) {
      conflicts.push({ file: edit.file, display: edit.display, expected, found: undefined, message: `${edit.file} no longer exists, so ${edit.display} cannot be set to ${show(target)}` });
      continue;
    }
    let found: EditValue | undefined;
    try {
      found = valueAt(parseYamlSource(edit.file, text), edit.path);
    } catch (err) {
      if (!(err instanceof EditError)) throw err;
      conflicts.push({ file: edit.file, display: edit.display, expected, found: undefined, message: err.message });
      continue;
    }
    if (found === target) continue;
    if (found !== expected) {
      conflicts.push({
        file: edit.file,
        display: edit.display,
        expected,
        found,
        message: `${edit.file}: ${edit.display} is ${show(found)}, not ${show(expected)} as expected: it was changed since (to write ${show(target)}, start again from the current state)`,
      });
      continue;
    }
    texts.set(edit.file, setValue(edit.file, text, edit.path, target));
    pending += 1;
  }
  const changed = new Map<string, string | null>();
  for (const [file, text] of texts) {
    if (text !== original.get(file)) changed.set(file, text ?? null);
  }
  return { changed, conflicts, alreadyApplied: conflicts.length === 0 && pending === 0 };
}

/** Sets before removals (stable sort keeps each group in its order). */
function order(edit: Edit, direction: "forward" | "reverse"): number {
  const target = direction === "forward" ? edit.after : edit.before;
  return target === undefined ? 1 : 0;
}

function fileConflict(file: string, expected: string | undefined, found: string | undefined): EditConflict {
  const hash = (text: string | undefined): string | undefined => (text === undefined ? undefined : `sha256:${createHash("sha256").update(text).digest("hex")}`);
  const state = (text: string | undefined): string => (text === undefined ? "absent" : `at ${hash(text)?.slice(0, 19)}`);
  return {
    file,
    display: file,
    expected: hash(expected),
    found: hash(found),
    message: `${file} is ${found === undefined ? "absent" : "not the content expected"} (${state(found)}, expected ${expected === undefined ? "absent" : state(expected)}): it was changed since; start again from the current state`,
  };
}

function show(value: EditValue | undefined): string {
  return value === undefined ? "absent" : JSON.stringify(value);
}
