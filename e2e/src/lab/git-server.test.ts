import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { startGitServer, type GitServer } from "./git-server.js";
import { isolatedGitEnv } from "./git-server-repos.js";
import { waitFor } from "./process.js";

const execFileAsync = promisify(execFile);
const author = { name: "Test Operator", email: "operator@gitfleet.invalid" };

/** The git CLI as a user would run it, minus their config and any password prompt. */
async function gitCli(args: string[], cwd?: string): Promise<string> {
  const env = isolatedGitEnv({
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  });
  const { stdout } = await execFileAsync("git", args, { cwd, env });
  return stdout.trim();
}

/** A raw GET, so that paths like "/../x" reach the server unnormalised (fetch would resolve them). */
async function rawGet(server: GitServer, path: string, auth?: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const headers = auth ? { Authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {};
    const req = request({ host: "127.0.0.1", port: server.port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

// node:test returns promises for suites and tests; the runner awaits them.
void describe("git smart-HTTP server", () => {
  let temp: string;
  let labDir: string;
  let seedDir: string;
  let server: GitServer;
  const pushes: string[] = [];
  const authHeader = (): string => `Basic ${Buffer.from(`${server.user}:${server.token}`).toString("base64")}`;

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), "gitfleet-git-server-"));
    labDir = join(temp, "lab");
    seedDir = join(temp, "seed");
    await mkdir(join(seedDir, "clusters"), { recursive: true });
    await writeFile(join(seedDir, "fleet.yaml"), "bundles: []\n");
    await writeFile(join(seedDir, "clusters", "eu.yaml"), "region: eu\n");
    server = await startGitServer({ dir: labDir, seeds: { fleet: seedDir }, onPush: (repo) => void pushes.push(repo) });
  });

  after(async () => {
    await server.stop();
    await rm(temp, { recursive: true, force: true });
  });

  void test("plain git clone with the embedded-credential URL gets the seeded files on main", async () => {
    const dir = join(temp, "clone-cli");
    await gitCli(["clone", "--quiet", server.url("fleet"), dir]);
    assert.equal(await readFile(join(dir, "fleet.yaml"), "utf8"), "bundles: []\n");
    assert.equal(await readFile(join(dir, "clusters", "eu.yaml"), "utf8"), "region: eu\n");
    assert.equal(await gitCli(["rev-parse", "--abbrev-ref", "HEAD"], dir), "main");
    assert.equal(await gitCli(["log", "-1", "--format=%an|%s"], dir), "gitfleet lab|Seed fleet");
  });

  void test("isomorphic-git clones with onAuth, commits and pushes; a fresh clone shows the commit", async () => {
    const dir = join(temp, "clone-iso");
    let authCalls = 0;
    const onAuth = (): { username: string; password: string } => {
      authCalls += 1;
      return { username: server.user, password: server.token };
    };
    await git.clone({ fs, http, dir, url: server.plainUrl("fleet"), ref: "main", singleBranch: true, onAuth });
    assert.ok(authCalls >= 1, "isomorphic-git was challenged with a 401 and asked for credentials");
    await writeFile(join(dir, "clusters", "us.yaml"), "region: us\n");
    await git.add({ fs, dir, filepath: "clusters/us.yaml" });
    const sha = await git.commit({ fs, dir, message: "Add us cluster", author });
    const result = await git.push({ fs, http, dir, remote: "origin", ref: "main", onAuth });
    assert.equal(result.ok, true, `push result: ${JSON.stringify(result)}`);
    await waitFor(() => pushes.includes("fleet"), { what: "onPush after the isomorphic-git push", timeoutMs: 5_000 });

    const fresh = join(temp, "clone-after-iso");
    await gitCli(["clone", "--quiet", server.url("fleet.git"), fresh]);
    assert.equal(await gitCli(["rev-parse", "HEAD"], fresh), sha);
    assert.equal(await readFile(join(fresh, "clusters", "us.yaml"), "utf8"), "region: us\n");
  });

  void test("a push with the git CLI works, also with a chunked body", async () => {
    const dir = join(temp, "clone-cli-push");
    await gitCli(["clone", "--quiet", server.url("fleet"), dir]);
    await writeFile(join(dir, "clusters", "ap.yaml"), "region: ap\n");
    // Over git's 1 MiB http.postBuffer, so the push body is chunked (no Content-Length).
    await writeFile(join(dir, "blob.bin"), randomBytes(2 * 1024 * 1024));
    await gitCli(["add", "."], dir);
    await gitCli(["commit", "--quiet", "-m", "Add ap cluster"], dir);
    const before = pushes.length;
    await gitCli(["push", "--quiet", "origin", "main"], dir);
    const head = await gitCli(["rev-parse", "HEAD"], dir);
    const remote = await gitCli(["ls-remote", server.url("fleet"), "refs/heads/main"]);
    assert.equal(remote.split(/\s/)[0], head);
    await waitFor(() => pushes.length > before, { what: "onPush after the CLI push", timeoutMs: 5_000 });
  });

  void test("a gzip-encoded upload-pack request is served", async () => {
    const head = (await gitCli(["ls-remote", server.url("fleet"), "refs/heads/main"])).split(/\s/)[0] ?? "";
    const want = `want ${head}\n`;
    const body = gzipSync(`${(want.length + 4).toString(16).padStart(4, "0")}${want}00000009done\n`);
    const res = await fetch(`${server.plainUrl("fleet")}/git-upload-pack`, {
      method: "POST",
      headers: {
        Authorization: authHeader(),
        "Content-Type": "application/x-git-upload-pack-request",
        "Content-Encoding": "gzip",
      },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-git-upload-pack-result");
    const reply = Buffer.from(await res.arrayBuffer());
    assert.equal(reply.subarray(0, 12).toString("latin1"), "0008NAK\nPACK");
  });

  void test("requests without or with wrong credentials get 401 with a Basic challenge", async () => {
    const url = `${server.plainUrl("fleet")}/info/refs?service=git-upload-pack`;
    const anonymous = await fetch(url);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("www-authenticate"), 'Basic realm="gitfleet"');
    const wrongToken = `Basic ${Buffer.from(`${server.user}:not-the-token`).toString("base64")}`;
    assert.equal((await fetch(url, { headers: { Authorization: wrongToken } })).status, 401);
    const wrongUser = `Basic ${Buffer.from(`someone:${server.token}`).toString("base64")}`;
    assert.equal((await fetch(url, { headers: { Authorization: wrongUser } })).status, 401);
    const dir = join(temp, "clone-wrong-token");
    const badUrl = server.url("fleet").replace(encodeURIComponent(server.token), "wrong");
    await assert.rejects(gitCli(["clone", "--quiet", badUrl, dir]), /Authentication failed/);
  });

  void test("unknown repositories and path traversal get 404", async () => {
    const creds = `${server.user}:${server.token}`;
    const service = "info/refs?service=git-upload-pack";
    assert.equal(await rawGet(server, `/fleet.git/${service}`, creds), 200);
    assert.equal(await rawGet(server, `/nope.git/${service}`, creds), 404);
    assert.equal(await rawGet(server, `/../repos/fleet.git/${service}`, creds), 404);
    assert.equal(await rawGet(server, `/%2e%2e/repos/fleet.git/${service}`, creds), 404);
    assert.equal(await rawGet(server, `/fleet.git/../../git-server.log`, creds), 404);
    assert.equal(await rawGet(server, `/fleet.git/config`, creds), 404);
    // Authentication comes first, so an outsider cannot probe for repositories.
    assert.equal(await rawGet(server, `/nope.git/${service}`), 401);
  });

  void test("createRepo adds a repository that can be cloned, and refuses to create it twice", async () => {
    await server.createRepo("empty");
    const refs = await gitCli(["ls-remote", server.url("empty")]);
    assert.equal(refs, "");
    await assert.rejects(server.createRepo("empty"), /already exists/);
    await assert.rejects(server.createRepo("../evil"), /invalid repository name/);
  });

  void test("a restart on the same dir and port keeps the pushed history", async () => {
    const headBefore = await gitCli(["ls-remote", server.url("fleet"), "refs/heads/main"]);
    const { port, token } = server;
    await server.stop();
    server = await startGitServer({ dir: labDir, port, token, seeds: { fleet: seedDir } });
    assert.equal(server.port, port);
    assert.equal(await gitCli(["ls-remote", server.url("fleet"), "refs/heads/main"]), headBefore);
  });
});
