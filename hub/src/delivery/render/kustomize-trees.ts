// Snapshots written out as folders for the kustomize binary, which reads files from disk. One
// folder per commit, written once and shared by every overlay of that commit; when a render for
// another commit comes, the older folders are removed as soon as no render still reads them.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Snapshot } from "../snapshot.js";

/** A written commit tree, held until release() is called. */
export interface TreeLease {
  /** Absolute path of the folder holding the commit's files (symlinks resolved). */
  readonly root: string;
  /** Lets the tree go; a tree of an older commit is removed when its last lease goes. */
  release(): void;
}

/** The commit trees of one renderer. */
export interface CommitTrees {
  /** The tree of the snapshot's commit, written first if needed. Rejects when it cannot be written. */
  acquire(snapshot: Snapshot): Promise<TreeLease>;
  /** Removes every tree and the renderer's folder; call when no lease is held any more. */
  close(): Promise<void>;
}

interface Tree {
  readonly commit: string;
  readonly ready: Promise<string>;
  leases: number;
  stale: boolean;
}

/** Files written at once; enough to keep the disk busy without holding thousands of handles. */
const WRITE_BATCH = 32;

/** Creates the commit trees of one renderer, in a fresh folder under `parent` (default the OS temp folder). */
export function createCommitTrees(parent: string | undefined, onRemoveError: (err: unknown) => void): CommitTrees {
  let base: Promise<string> | undefined;
  let sequence = 0;
  const trees = new Map<string, Tree>();
  const removals = new Set<Promise<void>>();

  const baseDir = (): Promise<string> => {
    // realpath: kustomize resolves symlinks, and its messages must match the prefix we strip.
    base ??= mkdtemp(join(parent ?? tmpdir(), "gitfleet-kustomize-")).then((dir) => realpath(dir));
    return base;
  };

  const remove = (tree: Tree): Promise<void> => {
    trees.delete(tree.commit);
    const removal = tree.ready
      .then((root) => rm(root, { recursive: true, force: true }))
      .catch(() => undefined)
      .finally(() => removals.delete(removal));
    removals.add(removal);
    return removal;
  };

  return {
    async acquire(snapshot) {
      let tree = trees.get(snapshot.commit);
      if (tree === undefined) {
        const freed: Promise<void>[] = [];
        for (const other of [...trees.values()]) {
          other.stale = true;
          if (other.leases === 0) freed.push(remove(other));
        }
        const name = `${createHash("sha256").update(snapshot.commit).digest("hex").slice(0, 16)}-${++sequence}`;
        // Older trees go first, so a big repository is not on disk twice for nothing.
        const ready = Promise.all(freed).then(() => baseDir()).then((dir) => writeTree(join(dir, name), snapshot));
        tree = { commit: snapshot.commit, ready, leases: 0, stale: false };
        trees.set(snapshot.commit, tree);
      }
      const held = tree;
      held.leases++;
      let root: string;
      try {
        root = await held.ready;
      } catch (err) {
        held.leases--;
        // A failed write is not cached: the next render of this commit tries again.
        if (trees.get(held.commit) === held) void remove(held);
        throw err;
      }
      let released = false;
      return {
        root,
        release() {
          if (released) return;
          released = true;
          held.leases--;
          if (held.stale && held.leases === 0 && trees.get(held.commit) === held) void remove(held);
        },
      };
    },
    async close() {
      for (const tree of [...trees.values()]) void remove(tree);
      await Promise.all([...removals]);
      if (base !== undefined) {
        const dir = await base.catch(() => undefined);
        if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(onRemoveError);
      }
    },
  };
}

/** Writes every file of the snapshot under `root`; returns `root`. Paths a Git tree cannot hold are skipped. */
async function writeTree(root: string, snapshot: Snapshot): Promise<string> {
  const paths = [...snapshot.files.keys()].filter(isSafePath);
  const folders = new Set<string>([root]);
  for (const path of paths) folders.add(dirname(join(root, path)));
  try {
    // Sorted, so each mkdir finds its parent made; recursive covers the rest.
    for (const folder of [...folders].sort()) await mkdir(folder, { recursive: true });
    for (let i = 0; i < paths.length; i += WRITE_BATCH) {
      await Promise.all(
        paths.slice(i, i + WRITE_BATCH).map((path) => writeFile(join(root, path), snapshot.files.get(path) ?? new Uint8Array())),
      );
    }
  } catch (err) {
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  return root;
}

/** Relative, no empty, `.` or `..` segment, no NUL: a path that stays inside the tree. */
function isSafePath(path: string): boolean {
  if (path === "" || path.startsWith("/") || path.includes("\0")) return false;
  return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}
