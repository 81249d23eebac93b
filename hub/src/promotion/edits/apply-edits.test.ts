import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { applyEdits, type Edit } from "./index.js";

const file = "apps/web/prod-us/kustomization.yaml";
const text = `# prod-us
images:
  - name: registry.example.com/web # the app
    newTag: 1.4.0
replicas:
  - name: web
    count: 3 # by hand
`;
const tag: Edit = { kind: "value", file, path: ["images", { match: "name", equals: "registry.example.com/web" }, "newTag"], display: "images[registry.example.com/web].newTag", before: "1.4.0", after: "1.4.2" };
const settings: Edit = { kind: "file", file: "apps/web/prod-us/settings.json", before: undefined, after: "{}\n" };

function files(entries: Record<string, string>): Map<string, Uint8Array> {
  return new Map(Object.entries(entries).map(([path, content]) => [path, new TextEncoder().encode(content)]));
}

/** The files after applying `changed` to `start`. */
function committed(start: ReadonlyMap<string, Uint8Array>, changed: ReadonlyMap<string, string | null>): Map<string, Uint8Array> {
  const out = new Map(start);
  for (const [path, content] of changed) {
    if (content === null) out.delete(path);
    else out.set(path, new TextEncoder().encode(content));
  }
  return out;
}

void describe("applying edits", () => {
  void test("forward sets each value and creates files; only the tag line of the kustomization changes", () => {
    const result = applyEdits(files({ [file]: text }), [tag, settings]);
    assert.deepEqual(result.conflicts, []);
    assert.equal(result.alreadyApplied, false);
    assert.deepEqual([...result.changed], [
      [file, text.replace("newTag: 1.4.0", "newTag: 1.4.2")],
      ["apps/web/prod-us/settings.json", "{}\n"],
    ]);
  });

  void test("reverse undoes a promotion: the old tag comes back and the created file is deleted", () => {
    const start = files({ [file]: text });
    const promoted = committed(start, applyEdits(start, [tag, settings]).changed);
    const rolledBack = applyEdits(promoted, [tag, settings], "reverse");
    assert.deepEqual(rolledBack.conflicts, []);
    assert.deepEqual([...rolledBack.changed], [
      [file, text],
      ["apps/web/prod-us/settings.json", null],
    ]);
  });

  void test("edits already at their target are skipped; all of them at their target is alreadyApplied", () => {
    const start = files({ [file]: text.replace("1.4.0", "1.4.2"), "apps/web/prod-us/settings.json": "{}\n" });
    const result = applyEdits(start, [tag, settings]);
    assert.deepEqual(result, { changed: new Map(), conflicts: [], alreadyApplied: true });
    const half = applyEdits(files({ [file]: text.replace("1.4.0", "1.4.2") }), [tag, settings]);
    assert.equal(half.alreadyApplied, false);
    assert.deepEqual([...half.changed.keys()], ["apps/web/prod-us/settings.json"]);
  });

  void test("a value someone changed since is a conflict that names file, field and both values", () => {
    const result = applyEdits(files({ [file]: text.replace("1.4.0", "1.4.1") }), [tag]);
    assert.deepEqual(result.conflicts, [
      {
        file,
        display: "images[registry.example.com/web].newTag",
        expected: "1.4.0",
        found: "1.4.1",
        message: `${file}: images[registry.example.com/web].newTag is "1.4.1", not "1.4.0" as expected: it was changed since (to write "1.4.2", start again from the current state)`,
      },
    ]);
    assert.equal(result.alreadyApplied, false);
  });

  void test("an unrelated change made since does not block the edit, and stays", () => {
    const human = text.replace("count: 3 # by hand", "count: 4 # by hand, later");
    const result = applyEdits(files({ [file]: human }), [tag]);
    assert.deepEqual(result.conflicts, []);
    assert.equal(result.changed.get(file), human.replace("newTag: 1.4.0", "newTag: 1.4.2"));
  });

  void test("a rollback after a later unrelated commit only reverts the promoted value", () => {
    const start = files({ [file]: text });
    const promoted = committed(start, applyEdits(start, [tag]).changed);
    const later = committed(promoted, new Map([[file, new TextDecoder().decode(promoted.get(file)).replace("count: 3", "count: 5")]]));
    const result = applyEdits(later, [tag], "reverse");
    assert.deepEqual(result.conflicts, []);
    assert.equal(result.changed.get(file), text.replace("count: 3", "count: 5"));
  });

  void test("a rollback of a value changed again since is a conflict", () => {
    const result = applyEdits(files({ [file]: text.replace("1.4.0", "1.4.3") }), [tag], "reverse");
    assert.equal(result.conflicts[0]?.found, "1.4.3");
    assert.equal(result.conflicts[0]?.expected, "1.4.2");
  });

  void test("a deleted file, a restructured file and a file changed since are conflicts", () => {
    assert.match(applyEdits(new Map(), [tag]).conflicts[0]?.message ?? "", /apps\/web\/prod-us\/kustomization\.yaml no longer exists/);
    assert.match(applyEdits(files({ [file]: "images: latest\n" }), [tag]).conflicts[0]?.message ?? "", /images is the value "latest", not a list/);
    const changed = applyEdits(files({ "apps/web/prod-us/settings.json": "{ }\n" }), [settings]).conflicts[0];
    assert.equal(changed?.display, "apps/web/prod-us/settings.json");
    assert.match(String(changed?.found), /^sha256:[0-9a-f]{64}$/);
    assert.equal(changed?.expected, undefined);
    assert.match(changed?.message ?? "", /is not the content expected \(at sha256:[0-9a-f]{12}, expected absent\)/);
  });

  void test("no edits: nothing changes and nothing is left to do", () => {
    assert.deepEqual(applyEdits(new Map(), []), { changed: new Map(), conflicts: [], alreadyApplied: true });
  });
});
