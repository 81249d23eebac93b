// Writing a new Git tree from an existing one with some files replaced or deleted, object by
// object (blobs, then the trees above them), without a working tree.
import type * as nodeFs from "node:fs";
import git, { type TreeEntry } from "isomorphic-git";
import { HubError } from "../errors.js";

/** Input of {@link editTree}. */
export interface EditTreeOptions {
  readonly fs: typeof nodeFs;
  readonly gitdir: string;
  readonly cache: object;
  /** The tree to start from. */
  readonly tree: string;
  /** Repository-relative path → new content, or null to delete the file. */
  readonly changes: ReadonlyMap<string, string | null>;
}

/** The changes under one folder: a file's new content (null: delete) or a subfolder's changes. */
type ChangeNode = Map<string, string | null | ChangeNode>;

const TREE_MODE = "040000";
const FILE_MODE = "100644";
const EXECUTABLE_MODE = "100755";

/** Checks a repository-relative file path: no leading slash, no empty, `.` or `..` segment, nothing in `.git`. */
export function checkPath(path: string): string[] {
  const segments = path.split("/");
  if (path === "" || segments.some((s) => s === "" || s === "." || s === ".." || s.toLowerCase() === ".git" || s.includes("\0"))) {
    throw new HubError("invalid-argument", `cannot write ${JSON.stringify(path)}: not a repository-relative file path`);
  }
  return segments;
}

/**
 * Writes the tree `tree` with `changes` applied and returns its id. A folder left empty is
 * dropped, as Git stores no empty folders. Replacing a folder by a file (or the reverse) is an
 * error; deleting a file that is not there is not.
 */
export async function editTree(options: EditTreeOptions): Promise<string> {
  const { fs, gitdir, cache } = options;
  const root: ChangeNode = new Map();
  // The changes as a tree of folders, so each Git tree is read and written once.
  for (const [path, content] of options.changes) {
    const segments = checkPath(path);
    let node = root;
    for (const [i, segment] of segments.entries()) {
      if (i === segments.length - 1) {
        if (node.get(segment) instanceof Map) throw new HubError("invalid-argument", `cannot write ${path}: it is a folder`);
        node.set(segment, content);
        break;
      }
      let child = node.get(segment);
      if (child === undefined) node.set(segment, (child = new Map()));
      if (!(child instanceof Map)) throw new HubError("invalid-argument", `cannot write ${path}: ${segments.slice(0, i + 1).join("/")} is a file`);
      node = child;
    }
  }

  const write = async (treeOid: string | undefined, changes: ChangeNode, prefix: string): Promise<string | undefined> => {
    const entries = new Map<string, TreeEntry>();
    if (treeOid !== undefined) for (const entry of (await git.readTree({ fs, gitdir, oid: treeOid, cache })).tree) entries.set(entry.path, entry);
    for (const [name, change] of changes) {
      const path = prefix === "" ? name : `${prefix}/${name}`;
      const existing = entries.get(name);
      if (change instanceof Map) {
        if (existing !== undefined && existing.type !== "tree") throw new HubError("invalid-argument", `cannot write under ${path}: it is a file`);
        const oid = await write(existing?.oid, change, path);
        if (oid === undefined) entries.delete(name);
        else entries.set(name, { mode: TREE_MODE, path: name, oid, type: "tree" });
      } else if (change === null) {
        if (existing?.type === "tree") throw new HubError("invalid-argument", `cannot delete ${path}: it is a folder`);
        entries.delete(name);
      } else {
        if (existing?.type === "tree") throw new HubError("invalid-argument", `cannot write ${path}: it is a folder`);
        const oid = await git.writeBlob({ fs, gitdir, blob: new TextEncoder().encode(change) });
        // An executable file stays executable; a symbolic link replaced by content becomes a file.
        const mode = existing?.mode === EXECUTABLE_MODE ? EXECUTABLE_MODE : FILE_MODE;
        entries.set(name, { mode, path: name, oid, type: "blob" });
      }
    }
    if (entries.size === 0 && prefix !== "") return undefined;
    return git.writeTree({ fs, gitdir, tree: [...entries.values()] });
  };
  return (await write(options.tree, root, "")) ?? "";
}
