// The renderer's process handling, against small shell scripts standing in for kustomize (the
// real binary's output is checked in e2e/src/render/kustomize-conformance.test.ts).
import { strict as assert } from "node:assert";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createKustomizeRenderer } from "./kustomize.js";
import { KustomizeError, type KustomizeFailure } from "./kustomize-error.js";
import type { Snapshot } from "../snapshot.js";

function snapshot(commit: string, entries: Record<string, string>): Snapshot {
  return { commit, files: new Map(Object.entries(entries).map(([path, content]) => [path, new TextEncoder().encode(content)])) };
}

const repo = {
  "apps/web/kustomization.yaml": "resources: [cm.yaml]\n",
  "apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
  "apps/api/kustomization.yaml": "resources: []\n",
};

async function rejection(promise: Promise<unknown>, failure: KustomizeFailure): Promise<KustomizeError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KustomizeError, `expected a KustomizeError, got ${String(err)}`);
    assert.equal(err.failure, failure, err.message);
    return err;
  }
  assert.fail("the overlay rendered");
}

void describe("kustomize renderer process handling", () => {
  let temp: string;
  /** Writes an executable shell script standing in for kustomize. */
  async function fake(name: string, body: string): Promise<string> {
    const path = join(temp, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  }

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), "gitfleet-kustomize-unit-"));
  });
  after(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  void test("runs `build ./<overlay>` in the commit's tree and returns the printed objects and the inputs", async () => {
    // Prints the files it was given, as kustomize would print resources.
    const binary = await fake("echo-build", 'test "$1" = build || exit 9\ncat "$2/cm.yaml"\necho ---\nprintf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: args\\ndata:\\n  args: \\"%s\\"\\n" "$*"');
    const renderer = createKustomizeRenderer({ binary, workDir: temp });
    try {
      const out = await renderer.render({ snapshot: snapshot("c1", repo), dir: "apps/web/" });
      assert.deepEqual(out.objects, [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web" } },
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "args" }, data: { args: "build ./apps/web --load-restrictor LoadRestrictionsRootOnly" } },
      ]);
      assert.deepEqual(out.inputs, ["apps/web/Kustomization", "apps/web/cm.yaml", "apps/web/kustomization.yaml", "apps/web/kustomization.yml"]);
    } finally {
      await renderer.close();
    }
  });

  void test("a failed build names the overlay and quotes kustomize's message without work folder paths", async () => {
    const binary = await fake(
      "fail",
      'echo "# Warning: \'bases\' is deprecated." >&2\necho "Error: accumulating resources: open $PWD/apps/web/missing.yaml: no such file or directory" >&2\nexit 1',
    );
    const renderer = createKustomizeRenderer({ binary, workDir: temp });
    try {
      const err = await rejection(renderer.render({ snapshot: snapshot("c1", repo), dir: "apps/web" }), "build-failed");
      assert.equal(err.message, "apps/web: kustomize build failed: accumulating resources: open apps/web/missing.yaml: no such file or directory");
      assert.equal(err.overlay, "apps/web");
      assert.ok(err.inputs?.includes("apps/web/cm.yaml"), "a failed build is kept until its inputs change");
    } finally {
      await renderer.close();
    }
  });

  void test("a build that runs too long is killed, with the processes it started", async () => {
    // Not exec'd: the shell's child keeps stdout open unless the whole group is killed.
    const binary = await fake("hang", "sleep 30\necho done");
    const renderer = createKustomizeRenderer({ binary, workDir: temp, timeoutMs: 300 });
    try {
      const started = Date.now();
      const err = await rejection(renderer.render({ snapshot: snapshot("c1", repo), dir: "apps/web" }), "timeout");
      assert.match(err.message, /^apps\/web: kustomize build did not finish within 300 ms/);
      assert.ok(Date.now() - started < 10_000, "the render waited for the hung process");
      assert.equal(err.inputs, undefined, "a timeout must be tried again");
    } finally {
      await renderer.close();
    }
  });

  void test("a build that uses more memory than allowed is killed, and its garbage collector is told the goal", async () => {
    // Fills 200 MiB and holds it; the cap is 64 MiB.
    const hog = await fake("hog", `exec "${process.execPath}" -e "globalThis.b = Buffer.alloc(200 * 1024 * 1024, 1); setTimeout(() => {}, 30000)"`);
    const renderer = createKustomizeRenderer({ binary: hog, workDir: temp, maxMemoryBytes: 64 * 1024 * 1024 });
    try {
      const started = Date.now();
      const err = await rejection(renderer.render({ snapshot: snapshot("c1", repo), dir: "apps/web" }), "build-failed");
      assert.match(err.message, /^apps\/web: kustomize build used more than 64 MiB of memory and was stopped/);
      assert.ok(Date.now() - started < 10_000, "the render waited for the timeout instead");
    } finally {
      await renderer.close();
    }
    const env = await fake("env", 'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: env\\ndata:\\n  limit: \\"%s\\"\\n" "$GOMEMLIMIT"');
    const second = createKustomizeRenderer({ binary: env, workDir: temp, maxMemoryBytes: 400 * 1024 * 1024 });
    try {
      const out = await second.render({ snapshot: snapshot("c1", repo), dir: "apps/web" });
      assert.deepEqual(out.objects[0]?.["data"], { limit: String(300 * 1024 * 1024) });
    } finally {
      await second.close();
    }
  });

  void test("a binary that cannot be started is reported as unavailable", async () => {
    const renderer = createKustomizeRenderer({ binary: join(temp, "no-such-kustomize"), workDir: temp });
    try {
      const err = await rejection(renderer.render({ snapshot: snapshot("c1", repo), dir: "apps/web" }), "unavailable");
      assert.match(err.message, /cannot run kustomize .*ENOENT.*GITFLEET_KUSTOMIZE/);
    } finally {
      await renderer.close();
    }
  });

  void test("output that is not objects is an error, not a crash", async () => {
    const binary = await fake("garbage", "echo 'a: [1'");
    const renderer = createKustomizeRenderer({ binary, workDir: temp });
    try {
      await rejection(renderer.render({ snapshot: snapshot("c1", repo), dir: "apps/web" }), "output-invalid");
    } finally {
      await renderer.close();
    }
  });

  void test("at most maxConcurrent builds run at once", async () => {
    const log = join(temp, "concurrency.log");
    const binary = await fake("slow", `echo start >> "${log}"\nsleep 0.2\necho end >> "${log}"`);
    const renderer = createKustomizeRenderer({ binary, workDir: temp, maxConcurrent: 2 });
    try {
      const snap = snapshot("c1", repo);
      await Promise.all(Array.from({ length: 6 }, () => renderer.render({ snapshot: snap, dir: "apps/api" })));
      let running = 0;
      let most = 0;
      for (const line of (await readFile(log, "utf8")).trim().split("\n")) {
        running += line === "start" ? 1 : -1;
        most = Math.max(most, running);
      }
      assert.equal(most, 2);
    } finally {
      await renderer.close();
    }
  });

  void test("one tree per commit: reused by its overlays, removed when another commit comes, all removed on close", async () => {
    const binary = await fake("pwd", 'printf "apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: cwd\\ndata:\\n  cwd: \\"%s\\"\\n" "$PWD"');
    const workDir = await mkdtemp(join(temp, "work-"));
    const renderer = createKustomizeRenderer({ binary, workDir });
    const cwd = async (commit: string, dir: string): Promise<string> => {
      const out = await renderer.render({ snapshot: snapshot(commit, repo), dir });
      return ((out.objects[0]?.["data"] ?? {}) as Record<string, string>)["cwd"] ?? "";
    };
    const trees = async (): Promise<string[]> => {
      const [own] = await readdir(workDir);
      return own === undefined ? [] : readdir(join(workDir, own));
    };
    try {
      const first = await cwd("c1", "apps/web");
      assert.equal(await cwd("c1", "apps/api"), first, "the second overlay of a commit got a new tree");
      assert.equal((await trees()).length, 1);
      const second = await cwd("c2", "apps/web");
      assert.notEqual(second, first);
      assert.equal((await trees()).length, 1, "the older commit's tree was kept");
    } finally {
      await renderer.close();
    }
    assert.deepEqual(await readdir(workDir), []);
    await rejection(renderer.render({ snapshot: snapshot("c3", repo), dir: "apps/web" }), "closed");
  });

  void test("close() stops running builds", async () => {
    const binary = await fake("hang-close", "sleep 30");
    const renderer = createKustomizeRenderer({ binary, workDir: temp });
    const pending = renderer.render({ snapshot: snapshot("c1", repo), dir: "apps/web" });
    const settled = rejection(pending, "closed");
    // Started or still queued, the build must neither be waited out nor succeed.
    const started = Date.now();
    await renderer.close();
    await settled;
    assert.ok(Date.now() - started < 10_000);
  });
});
