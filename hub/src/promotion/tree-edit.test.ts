import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import git from "isomorphic-git";
import { HubError } from "../errors.js";
import { editTree } from "./tree-edit.js";

void describe("editing a Git tree without a working tree", () => {
  let dir: string;
  let gitdir: string;
  let base: string;
  const cache = {};

  // Every file of a tree, path → [mode, content].
  const filesOf = async (tree: string, prefix = ""): Promise<Record<string, [string, string]>> => {
    const out: Record<string, [string, string]> = {};
    for (const entry of (await git.readTree({ fs, gitdir, oid: tree, cache })).tree) {
      const path = `${prefix}${entry.path}`;
      if (entry.type === "tree") Object.assign(out, await filesOf(entry.oid, `${path}/`));
      else out[path] = [entry.mode, new TextDecoder().decode((await git.readBlob({ fs, gitdir, oid: entry.oid, cache })).blob)];
    }
    return out;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-tree-edit-"));
    gitdir = join(dir, "repo.git");
    await git.init({ fs, gitdir, bare: true });
    const blob = (text: string) => git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode(text) });
    const prodUs = await git.writeTree({
      fs,
      gitdir,
      tree: [
        { mode: "100644", path: "kustomization.yaml", oid: await blob("newTag: 1\n"), type: "blob" },
        { mode: "100755", path: "hook.sh", oid: await blob("#!/bin/sh\n"), type: "blob" },
      ],
    });
    const web = await git.writeTree({ fs, gitdir, tree: [{ mode: "040000", path: "prod-us", oid: prodUs, type: "tree" }] });
    base = await git.writeTree({
      fs,
      gitdir,
      tree: [
        { mode: "100644", path: "fleet.yaml", oid: await blob("bundles: []\n"), type: "blob" },
        { mode: "040000", path: "web", oid: web, type: "tree" },
        { mode: "120000", path: "link.yaml", oid: await blob("fleet.yaml"), type: "blob" },
      ],
    });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("replaces, adds and deletes files, keeping modes and untouched entries", async () => {
    const tree = await editTree({
      fs,
      gitdir,
      cache,
      tree: base,
      changes: new Map([
        ["web/prod-us/kustomization.yaml", "newTag: 2\n"],
        ["web/prod-us/hook.sh", "#!/bin/sh\nexit 0\n"],
        ["web/prod-eu/config/settings.json", "{}\n"],
        ["fleet.yaml", null],
      ]),
    });
    assert.deepEqual(await filesOf(tree), {
      "link.yaml": ["120000", "fleet.yaml"],
      "web/prod-eu/config/settings.json": ["100644", "{}\n"],
      "web/prod-us/hook.sh": ["100755", "#!/bin/sh\nexit 0\n"],
      "web/prod-us/kustomization.yaml": ["100644", "newTag: 2\n"],
    });
  });

  it("gives the same tree back when nothing changes, and drops folders left empty", async () => {
    assert.equal(await editTree({ fs, gitdir, cache, tree: base, changes: new Map([["fleet.yaml", "bundles: []\n"], ["missing.yaml", null]]) }), base);
    const tree = await editTree({
      fs,
      gitdir,
      cache,
      tree: base,
      changes: new Map([["web/prod-us/kustomization.yaml", null], ["web/prod-us/hook.sh", null]]),
    });
    assert.deepEqual(Object.keys(await filesOf(tree)), ["fleet.yaml", "link.yaml"]);
  });

  it("refuses paths outside the repository and files in place of folders", async () => {
    const refused = (path: string, content: string | null, message: RegExp) =>
      assert.rejects(editTree({ fs, gitdir, cache, tree: base, changes: new Map([[path, content]]) }), (err: unknown) => {
        assert.ok(err instanceof HubError && err.code === "invalid-argument", String(err));
        assert.match(err.message, message);
        return true;
      });
    await refused("../x", "x", /not a repository-relative file path/);
    await refused("/etc/passwd", "x", /not a repository-relative file path/);
    await refused("web/.git/config", "x", /not a repository-relative file path/);
    await refused("web", "x", /cannot write web: it is a folder/);
    await refused("web/prod-us", null, /cannot delete web\/prod-us: it is a folder/);
    await refused("fleet.yaml/x", "x", /cannot write under fleet\.yaml: it is a file/);
  });
});
