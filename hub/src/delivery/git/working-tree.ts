// A folder on disk read into a Snapshot, so `gitfleet render` resolves a working tree with the
// same code the hub runs on a commit. Like the Git source, it reads regular files only (symbolic
// links are skipped: following one could leave the repository) and refuses trees that are too
// large; the .git folder is never read.
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { GitSourceError } from "../errors.js";
import type { Snapshot } from "../snapshot.js";

/** The commit a working tree snapshot claims: it has none. */
export const WORKING_TREE = "working-tree";

/** Options of {@link readWorkingTree}. */
export interface WorkingTreeOptions {
  /** Most files read; default 20 000 (as the Git source). */
  maxFiles?: number | undefined;
  /** Most bytes read, summed over files; default 256 MiB. */
  maxBytes?: number | undefined;
}

/**
 * Reads every regular file under `dir` (but `.git`) into a snapshot whose commit is
 * {@link WORKING_TREE}. Rejects with GitSourceError `git-read-failed` when `dir` cannot be read,
 * and `snapshot-too-large` past the limits.
 */
export async function readWorkingTree(dir: string, options: WorkingTreeOptions = {}): Promise<Snapshot> {
  const maxFiles = options.maxFiles ?? 20_000;
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  const files = new Map<string, Uint8Array>();
  let bytes = 0;
  const walk = async (relative: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(join(dir, relative), { withFileTypes: true });
    } catch (cause) {
      throw new GitSourceError("git-read-failed", `cannot read the folder ${relative === "" ? dir : join(dir, relative)}: ${(cause as Error).message}`, { cause });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (relative !== "" || entry.name !== ".git") await walk(path);
        continue;
      }
      if (!entry.isFile()) continue;
      const content = await readFile(join(dir, path));
      files.set(path, new Uint8Array(content.buffer, content.byteOffset, content.byteLength));
      bytes += content.byteLength;
      if (files.size > maxFiles || bytes > maxBytes) {
        throw new GitSourceError("snapshot-too-large", `${dir} holds more than ${maxFiles} files or ${maxBytes} bytes`);
      }
    }
  };
  await walk("");
  return { commit: WORKING_TREE, files };
}
