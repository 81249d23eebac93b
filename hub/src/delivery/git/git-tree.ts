// Reading every file of one commit into memory with isomorphic-git, reusing the bytes of blobs
// that an earlier snapshot already read (most commits change a few files).
import type * as nodeFs from "node:fs";
import git from "isomorphic-git";
import { GitSourceError } from "../errors.js";

/** Limits on what one commit may hold; the repository is untrusted input. */
export interface TreeLimits {
  /** Most regular files read. */
  readonly maxFiles: number;
  /** Most bytes read, summed over files. */
  readonly maxBytes: number;
}

/** Input of {@link readCommitFiles}. */
export interface ReadCommitOptions {
  readonly fs: typeof nodeFs;
  readonly gitdir: string;
  readonly cache: object;
  readonly commit: string;
  readonly limits: TreeLimits;
  /** Blob id -> bytes from the previous read; blobs found there are not read again. */
  readonly known: ReadonlyMap<string, Uint8Array>;
}

/** The files of a commit and the blob ids they came from (the next read's `known`). */
export interface CommitFiles {
  readonly files: Map<string, Uint8Array>;
  readonly blobs: Map<string, Uint8Array>;
}

const SYMLINK_MODE = "120000";

/**
 * Walks the commit's tree and reads every regular file. Symbolic links and submodules are
 * skipped: a link's target is not content, and following one could leave the repository.
 */
export async function readCommitFiles(options: ReadCommitOptions): Promise<CommitFiles> {
  const { fs, gitdir, cache, limits } = options;
  const files = new Map<string, Uint8Array>();
  const blobs = new Map<string, Uint8Array>();
  let bytes = 0;
  const walk = async (treeOid: string, prefix: string): Promise<void> => {
    const { tree } = await git.readTree({ fs, gitdir, oid: treeOid, cache });
    for (const entry of tree) {
      const path = prefix === "" ? entry.path : `${prefix}/${entry.path}`;
      if (entry.type === "tree") {
        await walk(entry.oid, path);
        continue;
      }
      if (entry.type !== "blob" || entry.mode === SYMLINK_MODE) continue;
      let content = blobs.get(entry.oid) ?? options.known.get(entry.oid);
      if (content === undefined) ({ blob: content } = await git.readBlob({ fs, gitdir, oid: entry.oid, cache }));
      blobs.set(entry.oid, content);
      files.set(path, content);
      bytes += content.byteLength;
      if (files.size > limits.maxFiles || bytes > limits.maxBytes) {
        throw new GitSourceError(
          "snapshot-too-large",
          `commit ${options.commit} holds more than ${limits.maxFiles} files or ${limits.maxBytes} bytes; raise the Git source limits or split the repository`,
        );
      }
    }
  };
  try {
    const { commit } = await git.readCommit({ fs, gitdir, oid: options.commit, cache });
    await walk(commit.tree, "");
  } catch (err) {
    if (err instanceof GitSourceError) throw err;
    throw new GitSourceError("git-read-failed", `cannot read the files of commit ${options.commit}: ${(err as Error).message}`, { cause: err });
  }
  return { files, blobs };
}
