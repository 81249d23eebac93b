// The promotion Git writer against the lab's real smart-HTTP server (git http-backend): one
// commit per request, re-applied on the new head when someone pushed first.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { HubError, createGitWriter, fleetRepository, type CommitRequest, type FleetHead, type GitWriter } from "@gitfleet/hub";
import http from "isomorphic-git/http/node";
import { pino } from "pino";
import { startGitServer, type GitServer } from "../lab/git-server.js";
import { isolatedGitEnv } from "../lab/git-server-repos.js";
import { freePort } from "../lab/ports.js";

const execFileAsync = promisify(execFile);
const logger = pino({ level: "silent" });
const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

const kustomization = `# prod-us: the web app in the US
resources:
  - ../base
images:
  - name: registry.example.com/web
    newTag: "1.4.1" # bumped by promotions
`;

void describe("promotion Git writer on a real smart-HTTP server", () => {
  let temp: string;
  let git: GitServer;
  let work: string;
  const writers: GitWriter[] = [];

  /** A person's clone: the git CLI, always on the branch's latest commit before it changes anything. */
  async function person(...args: string[]): Promise<string> {
    const env = isolatedGitEnv({
      GIT_AUTHOR_NAME: "Pat Person",
      GIT_AUTHOR_EMAIL: "pat@example.com",
      GIT_COMMITTER_NAME: "Pat Person",
      GIT_COMMITTER_EMAIL: "pat@example.com",
      GIT_TERMINAL_PROMPT: "0",
    });
    return (await execFileAsync("git", args, { cwd: work, env })).stdout.trim();
  }

  /** A person pulls, edits files (path → new content from the old one), commits and pushes. */
  async function personPushes(subject: string, edits: Record<string, (old: string) => string>): Promise<string> {
    await person("pull", "--quiet", "--rebase", "origin", "main");
    for (const [file, edit] of Object.entries(edits)) {
      const path = join(work, file);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, edit(await readFile(path, "utf8").catch(() => "")));
    }
    await person("add", ".");
    await person("commit", "--quiet", "-m", subject);
    await person("push", "--quiet", "origin", "main");
    return person("rev-parse", "HEAD");
  }

  async function remoteHead(): Promise<string> {
    return (await person("ls-remote", "origin", "refs/heads/main")).split(/\s+/)[0] ?? "";
  }

  function writer(options: Partial<Parameters<typeof createGitWriter>[0]> = {}): GitWriter {
    const made = createGitWriter({ url: git.url("fleet"), logger, now: () => new Date("2026-03-01T12:00:00Z"), ...options });
    writers.push(made);
    return made;
  }

  const promote = (change: CommitRequest["change"]): CommitRequest => ({
    message: "promote web: staging → prod-us (1.4.2)\n\nregistry.example.com/web: 1.4.1 → 1.4.2\n\nGitfleet-Promotion: p-0000000001abcdef0123\nGitfleet-Pipeline: web\nGitfleet-From: staging@4f0b60f",
    author: { name: "alice", email: "alice@gitfleet.invalid" },
    change,
  });

  const bumpTag = (head: FleetHead, tag: string): Map<string, string> => {
    const before = text(head.files.get("apps/web/prod-us/kustomization.yaml")) ?? "";
    return new Map([["apps/web/prod-us/kustomization.yaml", before.replace(/newTag: "[^"]*"/, `newTag: "${tag}"`)]]);
  };

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), "gitfleet-git-writer-"));
    const seed = join(temp, "seed");
    await mkdir(join(seed, "apps", "web", "prod-us"), { recursive: true });
    await mkdir(join(seed, "apps", "web", "old"), { recursive: true });
    await writeFile(join(seed, "fleet.yaml"), "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: web\n    path: apps/web\n");
    await writeFile(join(seed, "apps", "web", "prod-us", "kustomization.yaml"), kustomization);
    await writeFile(join(seed, "apps", "web", "old", "settings.json"), "{}\n");
    await symlink("../../fleet.yaml", join(seed, "apps", "web", "link.yaml"));
    git = await startGitServer({ dir: join(temp, "git"), seeds: { fleet: seed } });
    work = join(temp, "work");
    await execFileAsync("git", ["clone", "--quiet", git.url("fleet"), work], { env: isolatedGitEnv({ GIT_TERMINAL_PROMPT: "0" }) });
  });

  after(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    await git?.stop();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  test("one commit lands with the caller as author, the hub as committer and the trailers; nothing else changes", async () => {
    const w = writer();
    const before = await remoteHead();
    const seen: string[] = [];
    const result = await w.commit(
      promote((head) => {
        seen.push(head.commit);
        return new Map([
          ...bumpTag(head, "1.4.2"),
          ["apps/web/prod-us/new/settings.json", '{"a":1}\n'],
          ["apps/web/old/settings.json", null],
        ]);
      }),
    );
    assert.deepEqual(seen, [before]);
    assert.deepEqual(result, { commit: await remoteHead(), parent: before, attempts: 1 });
    await person("pull", "--quiet", "--rebase", "origin", "main");
    assert.equal(await person("log", "-1", "--format=%an <%ae>|%cn <%ce>|%aI"), "alice <alice@gitfleet.invalid>|gitfleet <gitfleet@gitfleet.invalid>|2026-03-01T12:00:00+00:00");
    assert.equal(await person("log", "-1", "--format=%(trailers:key=Gitfleet-Promotion,valueonly)"), "p-0000000001abcdef0123");
    assert.equal(await person("log", "-1", "--format=%s"), "promote web: staging → prod-us (1.4.2)");
    assert.deepEqual((await person("diff", "--name-status", "HEAD~1", "HEAD")).split("\n").sort(), [
      "D\tapps/web/old/settings.json",
      "A\tapps/web/prod-us/new/settings.json",
      "M\tapps/web/prod-us/kustomization.yaml",
    ].sort());
    const diff = await person("diff", "-U0", "HEAD~1", "HEAD", "--", "apps/web/prod-us/kustomization.yaml");
    assert.deepEqual(diff.split("\n").filter((l) => /^[-+][^-+]/.test(l)), ['-    newTag: "1.4.1" # bumped by promotions', '+    newTag: "1.4.2" # bumped by promotions']);
    assert.equal(await person("ls-tree", "HEAD", "apps/web/link.yaml", "--format=%(objectmode)"), "120000", "a symbolic link elsewhere stays one");
    assert.equal(await person("ls-tree", "HEAD", "apps/web/old"), "", "a folder left empty is gone");
  });

  test("a person's commit pushed between the fetch and the push: the change is applied again on the new head", async () => {
    const w = writer();
    const heads: FleetHead[] = [];
    let human = "";
    const result = await w.commit(
      promote(async (head) => {
        heads.push(head);
        // The first time, a person pushes first (another file, and a comment in ours).
        if (heads.length === 1) {
          human = await personPushes("scale prod-us to 3", {
            "apps/web/prod-us/replicas.yaml": () => "replicas: 3\n",
            "apps/web/prod-us/kustomization.yaml": (old) => old.replace("# prod-us: the web app in the US", "# prod-us: the web app in the US (owned by team web)"),
          });
        }
        return bumpTag(head, "1.4.3");
      }),
    );
    assert.equal(heads.length, 2, "change() is called again on the new head");
    assert.equal(heads[1]?.commit, human);
    assert.equal(text(heads[1]?.files.get("apps/web/prod-us/replicas.yaml")), "replicas: 3\n", "the second call sees the person's files");
    assert.deepEqual({ parent: result.parent, attempts: result.attempts }, { parent: human, attempts: 2 });
    await person("pull", "--quiet", "--rebase", "origin", "main");
    assert.deepEqual((await person("log", "-2", "--format=%an|%s")).split("\n"), ["alice|promote web: staging → prod-us (1.4.2)", "Pat Person|scale prod-us to 3"]);
    const now = await readFile(join(work, "apps/web/prod-us/kustomization.yaml"), "utf8");
    assert.match(now, /owned by team web/, "the person's edit is kept");
    assert.match(now, /newTag: "1\.4\.3"/);
  });

  test("the branch moving between the push's ref advertisement and its update is retried too", async () => {
    let pushes = 0;
    let human = "";
    // A person pushes after the writer has read the remote's refs for its push, before it sends.
    const racing = {
      async request(request: Parameters<typeof http.request>[0]) {
        if (request.method === "POST" && request.url.endsWith("/git-receive-pack") && pushes++ === 0) {
          human = await personPushes("a racing commit", { "apps/web/race.txt": () => "raced\n" });
        }
        return http.request(request);
      },
    };
    const w = writer({ http: racing });
    const result = await w.commit(promote((head) => bumpTag(head, "1.4.4")));
    assert.equal(result.parent, human);
    assert.equal(result.attempts, 2);
    assert.equal(await remoteHead(), result.commit);
  });

  test("two writers (two hub replicas) committing at once both land, one after the other", async () => {
    const [a, b] = [writer(), writer()];
    const before = await remoteHead();
    const [ra, rb] = await Promise.all([
      a.commit(promote(() => new Map([["apps/web/a.txt", "a\n"]]))),
      b.commit(promote(() => new Map([["apps/web/b.txt", "b\n"]]))),
    ]);
    const [first, second] = ra.parent === before ? [ra, rb] : [rb, ra];
    assert.equal(first.parent, before);
    assert.equal(second.parent, first.commit, "the later one was re-applied on the earlier one");
    assert.equal(await remoteHead(), second.commit);
    await person("pull", "--quiet", "--rebase", "origin", "main");
    assert.equal(await person("show", "HEAD:apps/web/a.txt"), "a");
    assert.equal(await person("show", "HEAD:apps/web/b.txt"), "b");
  });

  test("a change() that throws, or changes nothing, leaves the remote untouched", async () => {
    const w = writer();
    const before = await remoteHead();
    const conflict = new HubError("conflict", "prod-us: images[registry.example.com/web].newTag is 9.9.9 in Git, expected 1.4.1");
    await assert.rejects(w.commit(promote(() => Promise.reject(conflict))), (err: unknown) => err === conflict);
    await assert.rejects(w.commit(promote(() => new Map())), (err: unknown) => err instanceof HubError && err.code === "conflict" && /nothing to change/.test(err.message));
    await assert.rejects(
      w.commit(promote((head) => new Map([["fleet.yaml", text(head.files.get("fleet.yaml")) ?? ""]]))),
      (err: unknown) => err instanceof HubError && err.code === "conflict" && /nothing to change/.test(err.message),
    );
    await assert.rejects(w.commit(promote(() => new Map([["../escape.txt", "x"]]))), (err: unknown) => err instanceof HubError && err.code === "invalid-argument");
    assert.equal(await remoteHead(), before);
  });

  test("wrong credentials are refused as a failed precondition naming the repository, without the secret", async () => {
    const w = writer({ url: git.plainUrl("fleet"), auth: { username: git.user, password: "not-the-token" } });
    await assert.rejects(w.commit(promote((head) => bumpTag(head, "1.5.0"))), (err: unknown) => {
      assert.ok(err instanceof HubError, String(err));
      assert.equal(err.code, "failed-precondition");
      assert.equal(err.message, `the hub's Git credentials cannot push to ${git.plainUrl("fleet")}: 401 Unauthorized`);
      return true;
    });
    await assert.rejects(writer({ url: git.plainUrl("fleet") }).head(), /the hub's Git credentials cannot read .*: 401/);
  });

  test("an unreachable repository is unavailable", async () => {
    const url = `http://127.0.0.1:${await freePort()}/fleet.git`;
    await assert.rejects(writer({ url }).commit(promote((head) => bumpTag(head, "1.5.0"))), (err: unknown) => {
      assert.ok(err instanceof HubError, String(err));
      assert.equal(err.code, "unavailable");
      assert.match(err.message, new RegExp(`^the fleet repository ${url.replace(/\./g, "\\.")} is unreachable: .*ECONNREFUSED`));
      return true;
    });
  });

  test("the fleet repository reads the head with fleet.yaml validated, and fetches for delivery after a commit", async () => {
    let delivered = 0;
    const repository = fleetRepository({ writer: writer(), afterCommit: () => void delivered++, logger });
    const head = await repository.head();
    assert.equal(head.commit, await remoteHead());
    assert.deepEqual(head.fleet.bundles.map((b) => b.name), ["web"]);
    const result = await repository.commit(promote(() => new Map([["fleet.yaml", "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: web\n    pathh: apps/web\n"]])));
    assert.equal(delivered, 1);
    await assert.rejects(repository.head(), (err: unknown) => {
      assert.ok(err instanceof HubError && err.code === "failed-precondition", String(err));
      assert.match(err.message, new RegExp(`^fleet\\.yaml at ${result.commit.slice(0, 7)} of .* is invalid: .*fleet\\.yaml:5: bundles\\[0\\]\\.pathh: unknown field`, "s"));
      return true;
    });
  });
});
