// The hub's Git source against the lab's real smart-HTTP server (git http-backend).
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { GitSourceError, createGitSource, type Snapshot } from "@gitfleet/hub/delivery";
import { pino } from "pino";
import { startGitServer, type GitServer } from "../lab/git-server.js";
import { isolatedGitEnv } from "../lab/git-server-repos.js";

const execFileAsync = promisify(execFile);
const logger = pino({ level: "silent" });

void describe("Git source on a real smart-HTTP server", () => {
  let temp: string;
  let git: GitServer;
  let work: string;

  async function gitCli(...args: string[]): Promise<string> {
    const env = isolatedGitEnv({
      GIT_AUTHOR_NAME: "Test Operator",
      GIT_AUTHOR_EMAIL: "operator@gitfleet.invalid",
      GIT_COMMITTER_NAME: "Test Operator",
      GIT_COMMITTER_EMAIL: "operator@gitfleet.invalid",
      GIT_TERMINAL_PROMPT: "0",
    });
    return (await execFileAsync("git", args, { cwd: work, env })).stdout.trim();
  }

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), "gitfleet-git-source-"));
    const seed = join(temp, "seed");
    await mkdir(join(seed, "apps", "web"), { recursive: true });
    await writeFile(join(seed, "fleet.yaml"), "bundles: []\n");
    await writeFile(join(seed, "apps", "web", "a.yaml"), "a: 1\n");
    await symlink("../../fleet.yaml", join(seed, "apps", "web", "link.yaml"));
    git = await startGitServer({ dir: join(temp, "git"), seeds: { fleet: seed } });
    work = join(temp, "work");
    await execFileAsync("git", ["clone", "--quiet", git.url("fleet"), work], { env: isolatedGitEnv({ GIT_TERMINAL_PROMPT: "0" }) });
  });

  after(async () => {
    await git?.stop();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  void test("fetches the head with the URL's credentials and reads its regular files, not its symlinks", async () => {
    const source = createGitSource({ url: git.url("fleet"), logger });
    try {
      assert.equal(source.repository, git.plainUrl("fleet"), "credentials never show in the repository name");
      const snapshot = await source.fetch();
      assert.equal(snapshot.commit, await gitCli("rev-parse", "HEAD"));
      assert.deepEqual([...snapshot.files.keys()].sort(), ["apps/web/a.yaml", "fleet.yaml"]);
      assert.equal(new TextDecoder().decode(snapshot.files.get("apps/web/a.yaml")), "a: 1\n");
      assert.equal(await source.fetch(), snapshot, "an unchanged head gives the same snapshot without reading again");
    } finally {
      await source.stop();
    }
  });

  void test("credentials can also come from the options; a new commit is fetched shallowly on top", async () => {
    const dir = join(temp, "owned");
    const source = createGitSource({ url: git.plainUrl("fleet"), auth: { username: git.user, password: git.token }, dir, logger });
    try {
      const first = await source.fetch();
      await writeFile(join(work, "apps", "web", "b.yaml"), "b: 2\n");
      await gitCli("add", ".");
      await gitCli("commit", "--quiet", "-m", "add b", "-m", "Because b was missing.", "-m", "Gitfleet-Promotion: p-0123\nGitfleet-Pipeline: web");
      await gitCli("push", "--quiet", "origin", "main");
      const second = await source.fetch();
      assert.notEqual(second.commit, first.commit);
      assert.deepEqual({ ...second.info, time: undefined }, {
        subject: "add b",
        author: "Test Operator",
        email: "operator@gitfleet.invalid",
        time: undefined,
        trailers: { "Gitfleet-Promotion": "p-0123", "Gitfleet-Pipeline": "web" },
        parents: [first.commit],
      });
      assert.equal(second.info?.time, new Date(Number(await gitCli("log", "-1", "--format=%at")) * 1000).toISOString());
      assert.equal(second.commit, await gitCli("rev-parse", "HEAD"));
      assert.equal(new TextDecoder().decode(second.files.get("apps/web/b.yaml")), "b: 2\n");
      assert.equal(second.files.get("fleet.yaml"), first.files.get("fleet.yaml"), "unchanged blobs are reused, not read again");
    } finally {
      await source.stop();
    }
    assert.ok((await stat(dir)).isDirectory(), "a folder given by the owner is left in place");
  });

  void test("fails with a GitSourceError that names the branch and shows no secret", async () => {
    const missingBranch = createGitSource({ url: git.url("fleet"), branch: "nope", logger });
    const wrongToken = createGitSource({ url: git.plainUrl("fleet"), auth: { username: git.user, password: "wrong-token" }, logger });
    try {
      await assert.rejects(missingBranch.fetch(), (err: unknown) => {
        assert.ok(err instanceof GitSourceError);
        assert.equal(err.reason, "git-fetch-failed");
        assert.match(err.message, /cannot fetch branch nope of http:\/\/127\.0\.0\.1:\d+\/fleet\.git/);
        assert.ok(!err.message.includes(git.token));
        return true;
      });
      await assert.rejects(wrongToken.fetch(), (err: unknown) => err instanceof GitSourceError && !err.message.includes("wrong-token"));
    } finally {
      await missingBranch.stop();
      await wrongToken.stop();
    }
  });

  void test("reads an older commit by whole or abbreviated sha, and names a commit the branch does not hold", async () => {
    const first = await gitCli("rev-parse", "HEAD");
    const firstFiles = [...(await gitCli("ls-tree", "-r", "--name-only", "HEAD")).split("\n")].filter((f) => f !== "apps/web/link.yaml").sort();
    await writeFile(join(work, "apps", "web", "c.yaml"), "c: 3\n");
    await gitCli("add", ".");
    await gitCli("commit", "--quiet", "-m", "add c");
    await gitCli("push", "--quiet", "origin", "main");
    const source = createGitSource({ url: git.url("fleet"), logger });
    try {
      const head = await source.fetch();
      assert.equal(head.commit, await gitCli("rev-parse", "HEAD"));
      assert.equal(await source.snapshotAt(head.commit.slice(0, 7)), head, "the head is the snapshot at hand");
      // The head folder holds one commit; the older one comes by sha from the server.
      const older = await source.snapshotAt(first);
      assert.equal(older.commit, first);
      assert.deepEqual([...older.files.keys()].sort(), firstFiles);
      assert.equal(older.files.get("apps/web/c.yaml"), undefined);
      // An abbreviated sha is searched for in the branch's history.
      const fresh = createGitSource({ url: git.url("fleet"), logger });
      try {
        const byPrefix = await fresh.snapshotAt(first.slice(0, 8).toUpperCase());
        assert.equal(byPrefix.commit, first);
      } finally {
        await fresh.stop();
      }
      await assert.rejects(source.snapshotAt("0123456789abcdef0123456789abcdef01234567"), (err: unknown) => {
        assert.ok(err instanceof GitSourceError || (err as { code?: string }).code === "not-found", String(err));
        assert.equal((err as { code?: string }).code, "not-found");
        assert.match((err as Error).message, /no commit 0123456789abcdef0123456789abcdef01234567 in the history of branch main/);
        return true;
      });
      await assert.rejects(source.snapshotAt("deadbee"), /no commit deadbee in the history of branch main/);
      await assert.rejects(source.snapshotAt("main~1"), /revision "main~1" is not a commit sha/);
    } finally {
      await source.stop();
    }
  });

  void test("triggers during a fetch share one follow-up fetch, and the listener never runs twice at once", async () => {
    const source = createGitSource({ url: git.url("fleet"), pollIntervalMs: 3_600_000, logger });
    const seen: string[] = [];
    let active = 0;
    let maxActive = 0;
    try {
      source.start(async (snapshot: Snapshot) => {
        active++;
        maxActive = Math.max(maxActive, active);
        seen.push(snapshot.commit);
        await new Promise((resolve) => setImmediate(resolve));
        active--;
      });
      const results = await Promise.all([source.trigger(), source.trigger(), source.trigger(), source.trigger()]);
      const head = await gitCli("rev-parse", "HEAD");
      assert.ok(results.every((s) => s.commit === head));
      // start() begins the first poll at once; the four triggers arrive during it and share one more run.
      assert.equal(seen.length, 2, `listener ran ${seen.length} times for 1 poll + 4 triggers`);
      assert.equal(maxActive, 1);
    } finally {
      await source.stop();
    }
    await assert.rejects(source.trigger(), (err: unknown) => err instanceof GitSourceError && err.reason === "stopped");
  });
});
