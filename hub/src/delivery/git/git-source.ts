// Following one branch of the fleet repository over smart HTTP with isomorphic-git: shallow
// fetches into a folder the hub owns, the head commit's files read into memory, a poll loop and
// a webhook trigger that share one fetch at a time.
import * as fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageOf } from "@gitfleet/proto/rules";
import git, { type AuthCallback, type HttpClient } from "isomorphic-git";
import http from "isomorphic-git/http/node";
import type { Logger } from "pino";
import { createCoalescer } from "./coalesce.js";
import { GitSourceError } from "../errors.js";
import { commitInfo } from "./commit-info.js";
import { createHistoryReader, packCount } from "./git-history.js";
import { readCommitFiles, type CommitFiles, type TreeLimits } from "./git-tree.js";
import type { CommitInfo, Snapshot } from "../snapshot.js";

/** Receives each fetched snapshot; the poll loop waits for it before the next fetch. */
export type SnapshotListener = (snapshot: Snapshot) => Promise<void>;

/** Where the hub's desired state comes from: one branch of one Git repository. */
export interface GitSource {
  /** The repository URL without credentials, for logs and SourceRef. */
  readonly repository: string;
  readonly branch: string;
  /** Fetches the branch now and returns its head snapshot; concurrent calls share fetches. */
  fetch(): Promise<Snapshot>;
  /**
   * The snapshot of an older commit of the branch, by full or abbreviated sha (see
   * git-history.ts). Rejects DeliveryError "invalid-argument" for a malformed or ambiguous sha and
   * "not-found" for a commit the branch does not hold.
   */
  snapshotAt(revision: string): Promise<Snapshot>;
  /**
   * Starts polling: fetch, hand the snapshot to `listener`, wait the interval, repeat. A failed
   * fetch goes to `onError` (and the log) and is retried sooner, backing off to the interval.
   */
  start(listener: SnapshotListener, onError?: (err: unknown) => void): void;
  /**
   * Fetches at once and hands the snapshot to the listener (when started), as for a push
   * webhook. Triggers that arrive during a fetch share the next one. Rejects when the fetch fails.
   */
  trigger(): Promise<Snapshot>;
  /** Stops polling, waits for a running fetch, and removes the folder if the source made it. */
  stop(): Promise<void>;
}

/** Options of {@link createGitSource}. */
export interface GitSourceOptions {
  /** Smart-HTTP URL; credentials in its userinfo (`https://user:token@host/repo.git`) are used for auth. */
  url: string;
  /** Default "main". */
  branch?: string | undefined;
  /** Credentials, when not in the URL. */
  auth?: { username: string; password: string } | undefined;
  /**
   * A folder the hub owns; the source keeps its Git objects in `repo.git` inside it and may wipe
   * that. Default a fresh temp folder, removed on stop().
   */
  dir?: string | undefined;
  /** Poll interval; default 30 s. */
  pollIntervalMs?: number | undefined;
  /** Commits fetched per fetch; default 1 (only the head is read). */
  depth?: number | undefined;
  /** Limits on one commit's files; default 20 000 files and 256 MiB. */
  limits?: Partial<TreeLimits> | undefined;
  /** Most commits of the branch searched for an abbreviated sha by snapshotAt; default 4096. */
  historyDepth?: number | undefined;
  /** Extra HTTP headers (e.g. a bearer token for a Git host that takes one). */
  headers?: Record<string, string> | undefined;
  /** HTTP client for isomorphic-git; default its Node client. */
  http?: HttpClient | undefined;
  logger: Logger;
}

/**
 * Asks the Git server for the branch's head without fetching anything (as `git ls-remote` does):
 * how a replica that does not follow Git itself checks that it can reach it. Resolves with the
 * head's sha; rejects with GitSourceError "git-fetch-failed" saying why.
 */
export async function probeBranch(options: Pick<GitSourceOptions, "url" | "branch" | "auth" | "headers" | "http">): Promise<string> {
  const { repository, credentials } = splitCredentials(options.url, options.auth);
  const branch = options.branch ?? "main";
  try {
    const refs = await git.listServerRefs({
      http: options.http ?? http,
      url: repository,
      prefix: `refs/heads/${branch}`,
      ...(credentials ? { onAuth: () => credentials } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const head = refs.find((r) => r.ref === `refs/heads/${branch}`);
    if (!head) throw new Error(`branch ${branch} not found`);
    return head.oid;
  } catch (err) {
    throw new GitSourceError("git-fetch-failed", `cannot reach branch ${branch} of ${repository}: ${messageOf(err)}`, { cause: err });
  }
}

/** A folder with more pack files than this is started over: every shallow fetch adds one. */
const MAX_PACKS = 64;

/** Creates a {@link GitSource}; nothing is fetched until fetch(), start() or trigger(). */
export function createGitSource(options: GitSourceOptions): GitSource {
  const { repository, credentials } = splitCredentials(options.url, options.auth);
  const branch = options.branch ?? "main";
  const pollIntervalMs = options.pollIntervalMs ?? 30_000;
  const limits: TreeLimits = { maxFiles: options.limits?.maxFiles ?? 20_000, maxBytes: options.limits?.maxBytes ?? 256 * 1024 * 1024 };
  const logger = options.logger.child({ repository, branch });
  const onAuth: AuthCallback | undefined = credentials && (() => credentials);

  let root: string | undefined;
  let gitdir: string | undefined;
  let ownsDir = false;
  let cache: object = {};
  let latest: Snapshot | undefined;
  let known: ReadonlyMap<string, Uint8Array> = new Map();
  let listener: SnapshotListener | undefined;
  let onFetchError: ((err: unknown) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;

  // The Git objects live in `<dir>/repo.git`, a folder only this source writes: it may be
  // wiped and started over at any time (first use, too many packs, repeated failures).
  let fetchFailures = 0;
  const prepare = async (): Promise<string> => {
    const fresh = gitdir === undefined || fetchFailures >= 3 || (await packCount(gitdir)) > MAX_PACKS;
    if (!fresh && gitdir !== undefined) return gitdir;
    if (gitdir === undefined) {
      ownsDir = options.dir === undefined;
      root = options.dir ?? (await mkdtemp(join(tmpdir(), "gitfleet-source-")));
      gitdir = join(root, "repo.git");
    } else {
      logger.info({ gitdir, fetchFailures }, "starting the git folder over");
    }
    await rm(gitdir, { recursive: true, force: true });
    await fs.promises.mkdir(gitdir, { recursive: true });
    cache = {};
    fetchFailures = 0;
    await git.init({ fs, gitdir, bare: true, defaultBranch: branch });
    await git.addRemote({ fs, gitdir, remote: "origin", url: repository, force: true });
    return gitdir;
  };

  const fetchOnce = async (): Promise<Snapshot> => {
    if (stopped) throw new GitSourceError("stopped", "the Git source is stopped");
    let dir: string;
    let commit: string;
    try {
      dir = await prepare();
      const result = await git.fetch({
        fs,
        http: options.http ?? http,
        gitdir: dir,
        remote: "origin",
        ref: branch,
        singleBranch: true,
        tags: false,
        depth: options.depth ?? 1,
        cache,
        ...(onAuth ? { onAuth } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
      });
      if (result.fetchHead === null) throw new Error(`branch ${branch} not found`);
      commit = result.fetchHead;
      fetchFailures = 0;
    } catch (err) {
      fetchFailures++;
      throw new GitSourceError("git-fetch-failed", `cannot fetch branch ${branch} of ${repository}: ${messageOf(err)}`, { cause: err });
    }
    if (latest?.commit === commit) return latest;
    let read: CommitFiles;
    try {
      read = await readCommitFiles({ fs, gitdir: dir, cache, commit, limits, known });
    } catch (err) {
      // Unreadable objects in a shallow folder are best cured by starting it over.
      if (err instanceof GitSourceError && err.reason === "git-read-failed") fetchFailures++;
      throw err;
    }
    known = read.blobs;
    const info = await readInfo(dir, commit);
    latest = { commit, files: read.files, ...(info ? { info } : {}) };
    logger.info({ commit, files: read.files.size, subject: info?.subject }, "fetched new commit");
    return latest;
  };

  // Who made the commit and why is for history only: a commit whose object cannot be read is
  // delivered without it.
  const readInfo = async (dir: string, commit: string): Promise<CommitInfo | undefined> => {
    try {
      return commitInfo((await git.readCommit({ fs, gitdir: dir, oid: commit, cache })).commit);
    } catch (err) {
      logger.warn({ err, commit }, "cannot read the commit's message and author");
      return undefined;
    }
  };

  const fetcher = createCoalescer(fetchOnce);
  const history = createHistoryReader({
    repository,
    branch,
    onAuth,
    headers: options.headers,
    http: options.http ?? http,
    limits,
    dir: options.dir,
    maxDepth: options.historyDepth,
    logger,
  });

  const cycle = createCoalescer(async () => {
    const snapshot = await fetcher.run();
    if (listener !== undefined) {
      try {
        await listener(snapshot);
      } catch (err) {
        logger.error({ err, commit: snapshot.commit }, "snapshot listener failed");
      }
    }
    return snapshot;
  });

  const tick = async (): Promise<void> => {
    timer = undefined;
    try {
      await cycle.run();
      failures = 0;
    } catch (err) {
      failures++;
      if (!stopped) {
        logger.warn({ err, failures }, "git fetch failed; will retry");
        onFetchError?.(err);
      }
    }
    if (stopped) return;
    // Retry sooner after a failure, backing off up to the poll interval.
    const delay = failures === 0 ? pollIntervalMs : Math.min(pollIntervalMs, 1000 * 2 ** Math.min(failures, 10));
    timer = setTimeout(() => void tick(), delay);
  };

  return {
    repository,
    branch,
    fetch: () => fetcher.run(),
    snapshotAt(revision) {
      if (stopped) return Promise.reject(new GitSourceError("stopped", "the Git source is stopped"));
      const wanted = revision.toLowerCase();
      if (latest !== undefined && wanted.length >= 4 && latest.commit.startsWith(wanted)) return Promise.resolve(latest);
      return history.snapshotAt(revision);
    },
    start(next, onError) {
      if (stopped) throw new GitSourceError("stopped", "the Git source is stopped");
      if (listener !== undefined) throw new Error("git source: start() called twice");
      listener = next;
      onFetchError = onError;
      void tick();
    },
    trigger: () => cycle.run(),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await cycle.idle();
      await fetcher.idle();
      await history.stop();
      if (ownsDir && root !== undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Splits `user:password@` off a URL, so the URL can be logged and the secret used for auth only. */
export function splitCredentials(
  url: string,
  auth?: { username: string; password: string },
): { repository: string; credentials: { username: string; password: string } | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new GitSourceError("git-fetch-failed", "the Git source URL is not a valid URL", { cause });
  }
  const fromUrl = parsed.username !== "" || parsed.password !== ""
    ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
    : undefined;
  parsed.username = "";
  parsed.password = "";
  return { repository: parsed.toString(), credentials: auth ?? fromUrl };
}
