// Writing commits to the fleet repository with isomorphic-git: fetch the branch head shallowly
// into a Git folder of its own, build the new tree object by object from the head's, commit, push.
// When the branch moved meanwhile, the push is refused as non-fast-forward; the writer fetches the
// new head and asks the request for its change again (a structured re-apply, never a text rebase).
import * as fs from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageOf } from "@gitfleet/proto/rules";
import git, { Errors, type AuthCallback, type HttpClient } from "isomorphic-git";
import http from "isomorphic-git/http/node";
import type { Logger } from "pino";
import type { CommitRequest, CommitResult, FleetHead } from "../delivery-contract.js";
import { readCommitFiles, splitCredentials, type TreeLimits } from "../delivery/index.js";
import { HubError } from "../errors.js";
import { editTree } from "./tree-edit.js";

/** Options of {@link createGitWriter}. */
export interface GitWriterOptions {
  /** Smart-HTTP URL; credentials in its userinfo are used for auth, as the Git source does. */
  url: string;
  /** Default "main". */
  branch?: string | undefined;
  /** Credentials, when not in the URL. */
  auth?: { username: string; password: string } | undefined;
  /** Who commits (the author is the request's); default `gitfleet <gitfleet@gitfleet.invalid>`. */
  committer?: { name: string; email: string } | undefined;
  /** Attempts of one commit when the branch keeps moving; default 5. */
  maxAttempts?: number | undefined;
  /** Limits on one commit's files; default 20 000 files and 256 MiB. */
  limits?: Partial<TreeLimits> | undefined;
  headers?: Record<string, string> | undefined;
  /** HTTP client for isomorphic-git; default its Node client. */
  http?: HttpClient | undefined;
  now?: (() => Date) | undefined;
  logger: Logger;
}

/** Writes commits on one branch of the fleet repository. */
export interface GitWriter {
  /** The repository URL without credentials. */
  readonly repository: string;
  readonly branch: string;
  /** Fetches the branch head now and reads its files. */
  head(): Promise<FleetHead>;
  /** See {@link FleetRepository.commit}; commits of one writer run one at a time. */
  commit(request: CommitRequest): Promise<CommitResult>;
  /** Waits for a running commit and removes the writer's Git folder. */
  stop(): Promise<void>;
}

/** A folder with more pack files than this is started over: every shallow fetch adds one. */
const MAX_PACKS = 64;

/** Creates a writer; its Git folder (a temp folder) is made on first use. */
export function createGitWriter(options: GitWriterOptions): GitWriter {
  const { repository, credentials } = credentialsOf(options.url, options.auth);
  const branch = options.branch ?? "main";
  const committer = options.committer ?? { name: "gitfleet", email: "gitfleet@gitfleet.invalid" };
  const maxAttempts = options.maxAttempts ?? 5;
  const limits: TreeLimits = { maxFiles: options.limits?.maxFiles ?? 20_000, maxBytes: options.limits?.maxBytes ?? 256 * 1024 * 1024 };
  const now = options.now ?? (() => new Date());
  const logger = options.logger.child({ component: "git-writer", repository, branch });
  const onAuth: AuthCallback | undefined = credentials && (() => credentials);
  const remote = {
    http: options.http ?? http,
    ...(onAuth ? { onAuth } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  };

  let root: string | undefined;
  let cache: object = {};
  let known: ReadonlyMap<string, Uint8Array> = new Map();
  let queue: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const gitdir = async (): Promise<string> => {
    root ??= await mkdtemp(join(tmpdir(), "gitfleet-writer-"));
    const dir = join(root, "repo.git");
    if ((await packCount(dir)) <= MAX_PACKS && fs.existsSync(join(dir, "HEAD"))) return dir;
    await rm(dir, { recursive: true, force: true });
    await fs.promises.mkdir(dir, { recursive: true });
    cache = {};
    await git.init({ fs, gitdir: dir, bare: true, defaultBranch: branch });
    await git.addRemote({ fs, gitdir: dir, remote: "origin", url: repository, force: true });
    return dir;
  };

  const fetchHead = async (action: Action): Promise<{ dir: string; head: FleetHead }> => {
    if (stopped) throw new HubError("unavailable", "the hub is stopping");
    const dir = await gitdir();
    let commit: string | null;
    try {
      ({ fetchHead: commit } = await git.fetch({ fs, gitdir: dir, cache, remote: "origin", ref: branch, singleBranch: true, tags: false, depth: 1, ...remote }));
    } catch (err) {
      throw gitError(err, action, repository);
    }
    if (commit === null) throw new HubError("failed-precondition", `the fleet repository ${repository} has no branch ${branch}`);
    const read = await readCommitFiles({ fs, gitdir: dir, cache, commit, limits, known });
    known = read.blobs;
    return { dir, head: { commit, files: read.files } };
  };

  // One attempt: change, commit, push. Undefined when the branch moved and it is worth another.
  const attempt = async (request: CommitRequest, dir: string, head: FleetHead): Promise<string | undefined> => {
    const changes = await request.change(head);
    if (changes.size === 0) throw new HubError("conflict", "nothing to change");
    const { commit: parent } = await git.readCommit({ fs, gitdir: dir, oid: head.commit, cache });
    const tree = await editTree({ fs, gitdir: dir, cache, tree: parent.tree, changes });
    if (tree === parent.tree) throw new HubError("conflict", "nothing to change: the branch already has this content");
    const time = { timestamp: Math.floor(now().getTime() / 1000), timezoneOffset: 0 };
    const commit = await git.writeCommit({
      fs,
      gitdir: dir,
      commit: {
        message: request.message.endsWith("\n") ? request.message : `${request.message}\n`,
        tree,
        parent: [head.commit],
        author: { ...request.author, ...time },
        committer: { ...committer, ...time },
      },
    });
    await git.writeRef({ fs, gitdir: dir, ref: `refs/heads/${branch}`, value: commit, force: true });
    try {
      await git.push({ fs, gitdir: dir, cache, remote: "origin", ref: branch, remoteRef: branch, ...remote });
      return commit;
    } catch (err) {
      if (isMovedBranch(err)) {
        logger.info({ parent: head.commit, reason: messageOf(err) }, "the branch moved before the push; applying the change again on its new head");
        return undefined;
      }
      throw gitError(err, "push", repository);
    }
  };

  const commitNow = async (request: CommitRequest): Promise<CommitResult> => {
    for (let attempts = 1; attempts <= maxAttempts; attempts++) {
      const { dir, head } = await fetchHead("push");
      const commit = await attempt(request, dir, head);
      if (commit !== undefined) {
        logger.info({ commit, parent: head.commit, attempts }, "pushed a commit");
        return { commit, parent: head.commit, attempts };
      }
    }
    throw new HubError("unavailable", `branch ${branch} of ${repository} kept moving: ${maxAttempts} pushes were refused as not fast-forward; try again`);
  };

  // One at a time: commits share the Git folder and the local branch ref.
  const serial = <T>(run: () => Promise<T>): Promise<T> => {
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    repository,
    branch,
    head: () => serial(async () => (await fetchHead("read")).head),
    commit: (request) => serial(() => commitNow(request)),
    async stop() {
      stopped = true;
      await queue;
      if (root !== undefined) await rm(root, { recursive: true, force: true });
      root = undefined;
    },
  };
}

type Action = "read" | "push";

function credentialsOf(url: string, auth: GitWriterOptions["auth"]): ReturnType<typeof splitCredentials> {
  try {
    return splitCredentials(url, auth);
  } catch (err) {
    throw new HubError("invalid-argument", "the fleet repository URL is not a valid URL", { cause: err });
  }
}

/** True when a push failed because the remote branch is no longer the head the commit was written on. */
function isMovedBranch(err: unknown): boolean {
  if (err instanceof Errors.PushRejectedError) return err.data.reason === "not-fast-forward";
  // The branch moved between the ref advertisement and the update: receive-pack refuses the update.
  if (err instanceof Errors.GitPushError) {
    return Object.values(err.data.result.refs).some((ref) => !ref.ok && /fast-forward|fetch first|failed to (update|lock)|stale info|cannot lock/i.test(ref.error));
  }
  return false;
}

/** The hub's error for a failed fetch or push: credentials refused, a refused push, or unreachable. */
function gitError(err: unknown, action: Action, repository: string): HubError {
  if (err instanceof HubError) return err;
  if (err instanceof Errors.HttpError && (err.data.statusCode === 401 || err.data.statusCode === 403)) {
    const status = `${err.data.statusCode} ${err.data.statusMessage}`.trim();
    const what = action === "push" ? `push to ${repository}` : `read ${repository}`;
    return new HubError("failed-precondition", `the hub's Git credentials cannot ${what}: ${status}`, { cause: err });
  }
  if (err instanceof Errors.GitPushError) {
    return new HubError("failed-precondition", `the fleet repository ${repository} refused the push: ${err.data.prettyDetails.trim()}`, { cause: err });
  }
  if (err instanceof Errors.PushRejectedError) {
    return new HubError("failed-precondition", `the fleet repository ${repository} refused the push: ${messageOf(err)}`, { cause: err });
  }
  return new HubError("unavailable", `the fleet repository ${repository} is unreachable: ${messageOf(err)}`, { cause: err });
}

async function packCount(gitdir: string): Promise<number> {
  try {
    return (await readdir(join(gitdir, "objects", "pack"))).filter((name) => name.endsWith(".pack")).length;
  } catch {
    return 0;
  }
}
