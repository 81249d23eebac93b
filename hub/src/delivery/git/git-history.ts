// Reading an older commit of the followed branch (an environment diff at a revision). Kept in a
// Git folder of its own, so the head's shallow fetches are never disturbed: a full sha is asked
// for directly (smart-HTTP servers serve any commit reachable from a ref, and `git http-backend`
// does so without configuration); otherwise, or when the server refuses, the branch is fetched
// deeper and deeper until the commit is found, the history ends, or the depth limit is reached.
import * as fs from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageOf } from "@gitfleet/proto/rules";
import git, { Errors, type AuthCallback, type HttpClient } from "isomorphic-git";
import type { Logger } from "pino";
import { DeliveryError, GitSourceError } from "../errors.js";
import type { Snapshot } from "../snapshot.js";
import { readCommitFiles, type TreeLimits } from "./git-tree.js";

/** A revision as the API takes it: a commit sha, whole or abbreviated (at least 4 hex digits). */
export const REVISION_PATTERN = /^[0-9a-f]{4,40}$/;

/** Options of {@link createHistoryReader}. */
export interface HistoryReaderOptions {
  readonly repository: string;
  readonly branch: string;
  readonly onAuth: AuthCallback | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly http: HttpClient;
  readonly limits: TreeLimits;
  /** A folder the reader owns (it keeps `history.git` there); default a temp folder removed on stop. */
  readonly dir: string | undefined;
  /** Most commits of the branch searched for an abbreviated sha; default 4096. */
  readonly maxDepth?: number | undefined;
  readonly logger: Logger;
}

/** Reads the files of any commit of the branch, one request at a time. */
export interface HistoryReader {
  /** The snapshot of a commit, by full or abbreviated sha; rejects DeliveryError "not-found" when there is none. */
  snapshotAt(revision: string): Promise<Snapshot>;
  stop(): Promise<void>;
}

const FIRST_DEPTH = 32;
const MAX_PACKS = 64;

/** Creates a {@link HistoryReader}; nothing is fetched before the first snapshotAt. */
export function createHistoryReader(options: HistoryReaderOptions): HistoryReader {
  const { repository, branch, logger } = options;
  const maxDepth = options.maxDepth ?? 4096;
  let root: string | undefined;
  let gitdir: string | undefined;
  let cache: object = {};
  let queue: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const prepare = async (): Promise<string> => {
    if (gitdir !== undefined && (await packCount(gitdir)) <= MAX_PACKS) return gitdir;
    root ??= options.dir ?? (await mkdtemp(join(tmpdir(), "gitfleet-history-")));
    gitdir = join(root, "history.git");
    await rm(gitdir, { recursive: true, force: true });
    await fs.promises.mkdir(gitdir, { recursive: true });
    cache = {};
    await git.init({ fs, gitdir, bare: true, defaultBranch: branch });
    await git.addRemote({ fs, gitdir, remote: "origin", url: repository, force: true });
    return gitdir;
  };

  const fetch = async (dir: string, ref: string, depth: number): Promise<void> => {
    try {
      await git.fetch({
        fs,
        http: options.http,
        gitdir: dir,
        remote: "origin",
        ref,
        singleBranch: true,
        tags: false,
        depth,
        cache,
        ...(options.onAuth ? { onAuth: options.onAuth } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
      });
    } catch (err) {
      throw new GitSourceError("git-fetch-failed", `cannot fetch the history of branch ${branch} of ${repository}: ${messageOf(err)}`, { cause: err });
    }
  };

  /** The full sha of a commit the folder holds, or undefined when it holds none that matches. */
  const findLocal = async (dir: string, revision: string): Promise<string | undefined> => {
    let oid: string;
    try {
      oid = revision.length === 40 ? revision : await git.expandOid({ fs, gitdir: dir, oid: revision, cache });
      await git.readCommit({ fs, gitdir: dir, oid, cache });
      return oid;
    } catch (err) {
      if (err instanceof Errors.AmbiguousError) {
        throw new DeliveryError("invalid-argument", "revision-invalid", `revision ${revision} is ambiguous in branch ${branch}; give more of the sha`);
      }
      if (err instanceof Errors.NotFoundError || err instanceof Errors.ObjectTypeError) return undefined;
      throw new GitSourceError("git-read-failed", `cannot read revision ${revision}: ${messageOf(err)}`, { cause: err });
    }
  };

  const find = async (revision: string): Promise<{ dir: string; oid: string }> => {
    const dir = await prepare();
    let oid = await findLocal(dir, revision);
    if (oid === undefined && revision.length === 40) {
      try {
        await fetch(dir, revision, 1);
        oid = await findLocal(dir, revision);
      } catch (err) {
        // Not every server serves a commit by sha: search the branch instead.
        logger.debug({ err, revision }, "fetching a commit by sha failed; searching the branch");
      }
    }
    for (let depth = FIRST_DEPTH; oid === undefined; depth *= 8) {
      await fetch(dir, branch, Math.min(depth, maxDepth));
      oid = await findLocal(dir, revision);
      if (oid !== undefined) break;
      if (!(await isShallow(dir))) {
        throw new DeliveryError("not-found", "revision-not-found", `no commit ${revision} in the history of branch ${branch} of ${repository}`);
      }
      if (depth >= maxDepth) {
        throw new DeliveryError("not-found", "revision-not-found", `no commit ${revision} in the last ${maxDepth} commits of branch ${branch} of ${repository}; give the whole sha`);
      }
    }
    return { dir, oid };
  };

  return {
    snapshotAt(revision) {
      const wanted = revision.toLowerCase();
      if (!REVISION_PATTERN.test(wanted)) {
        return Promise.reject(new DeliveryError("invalid-argument", "revision-invalid", `revision "${revision}" is not a commit sha (4 to 40 hex digits)`));
      }
      const run = queue.then(async () => {
        if (stopped) throw new GitSourceError("stopped", "the Git source is stopped");
        const { dir, oid } = await find(wanted);
        const { files } = await readCommitFiles({ fs, gitdir: dir, cache, commit: oid, limits: options.limits, known: new Map() });
        logger.info({ commit: oid, files: files.size }, "read an older commit");
        return { commit: oid, files };
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async stop() {
      stopped = true;
      await queue;
      if (options.dir === undefined && root !== undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

/** True while the folder's history is cut short (it has a `shallow` file listing boundary commits). */
async function isShallow(gitdir: string): Promise<boolean> {
  try {
    return (await fs.promises.readFile(join(gitdir, "shallow"), "utf8")).trim() !== "";
  } catch {
    return false;
  }
}

/** How many pack files a Git folder holds: every shallow fetch adds one. */
export async function packCount(gitdir: string): Promise<number> {
  try {
    return (await readdir(join(gitdir, "objects", "pack"))).filter((name) => name.endsWith(".pack")).length;
  } catch {
    return 0;
  }
}
