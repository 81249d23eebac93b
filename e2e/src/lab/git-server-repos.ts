import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { devNull } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Who the seed commits are by. */
const LAB_AUTHOR = { name: "gitfleet lab", email: "lab@gitfleet.invalid" };

/**
 * Repository names are one path segment of safe characters, starting with a
 * letter or digit: that rules out `..`, hidden folders (our temp dirs) and any
 * percent-encoding trick before a request ever reaches `git http-backend`.
 */
const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Turns "fleet" or "fleet.git" into the bare name "fleet", or throws if the
 * name could escape the repository root or be misread in a URL.
 */
export function repoName(name: string): string {
  const bare = name.endsWith(".git") ? name.slice(0, -".git".length) : name;
  if (!REPO_NAME.test(bare)) {
    throw new Error(
      `git server: invalid repository name ${JSON.stringify(name)}; ` +
        `use letters, digits, ".", "_" and "-", starting with a letter or digit`,
    );
  }
  return bare;
}

/**
 * The environment every git process of the lab runs with: the caller's PATH
 * and HOME, but none of the user's or system's git config (a global
 * `init.defaultBranch`, hooks path or signing setting must not change what the
 * lab serves), and none of the caller's GIT_* variables (tests may run inside
 * a git hook, where GIT_DIR points elsewhere).
 */
export function isolatedGitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: devNull,
    ...extra,
  };
  if (process.env["PATH"] !== undefined) env["PATH"] = process.env["PATH"];
  if (process.env["HOME"] !== undefined) env["HOME"] = process.env["HOME"];
  return env;
}

async function git(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", args, { env: isolatedGitEnv(env) });
    return stdout.trim();
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    const detail = typeof stderr === "string" && stderr.trim() ? `: ${stderr.trim()}` : "";
    throw new Error(`git server: git ${args.join(" ")} failed${detail}`, { cause: err });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** True if the bare repository `<name>.git` exists under `root`. */
export async function repoExists(root: string, name: string): Promise<boolean> {
  return await exists(join(root, `${repoName(name)}.git`));
}

/**
 * Creates the bare repository `<root>/<name>.git` with push over HTTP enabled
 * and, with `seedDir`, one commit on `main` holding that folder's files.
 *
 * The repository is built under a hidden temp name and renamed into place, so
 * a failure half-way never leaves a repository that a restart would mistake
 * for a finished one. Throws if the repository already exists.
 */
export async function createBareRepo(root: string, name: string, seedDir?: string): Promise<void> {
  const bare = repoName(name);
  root = resolve(root);
  const target = join(root, `${bare}.git`);
  if (await exists(target)) throw new Error(`git server: repository ${bare}.git already exists in ${root}`);
  if (seedDir !== undefined) {
    const info = await stat(seedDir).catch((err: unknown) => {
      throw new Error(`git server: seed folder ${seedDir} for ${bare}.git cannot be read`, { cause: err });
    });
    if (!info.isDirectory()) throw new Error(`git server: seed ${seedDir} for ${bare}.git is not a folder`);
  }
  await mkdir(root, { recursive: true });
  const temp = join(root, `.tmp-${bare}-${randomBytes(6).toString("hex")}`);
  try {
    await git(["init", "--bare", "--quiet", "--initial-branch=main", temp]);
    // Without REMOTE_USER http-backend refuses receive-pack unless this is set;
    // we set both so pushes work however the backend is started.
    await git(["--git-dir", temp, "config", "http.receivepack", "true"]);
    if (seedDir !== undefined) await commitFolder(temp, resolve(seedDir), bare);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Commits the files of `folder` onto `main` of a bare repository without a
 * working tree or clone: a throwaway index, `write-tree`, `commit-tree`.
 * The seed's own .gitignore files are honoured; a nested `.git` would become a
 * gitlink, so seed folders should be plain files.
 */
async function commitFolder(gitDir: string, folder: string, name: string): Promise<void> {
  const index = { GIT_INDEX_FILE: join(gitDir, "seed-index") };
  const author = {
    GIT_AUTHOR_NAME: LAB_AUTHOR.name,
    GIT_AUTHOR_EMAIL: LAB_AUTHOR.email,
    GIT_COMMITTER_NAME: LAB_AUTHOR.name,
    GIT_COMMITTER_EMAIL: LAB_AUTHOR.email,
  };
  // -C: pathspecs are resolved against the cwd, which must be inside the work tree.
  await git(["-C", folder, "--git-dir", gitDir, "--work-tree", folder, "add", "--all"], index);
  const tree = await git(["--git-dir", gitDir, "write-tree"], index);
  const commit = await git(["--git-dir", gitDir, "commit-tree", tree, "-m", `Seed ${name}`], author);
  await git(["--git-dir", gitDir, "update-ref", "refs/heads/main", commit]);
  await rm(index.GIT_INDEX_FILE, { force: true });
}
