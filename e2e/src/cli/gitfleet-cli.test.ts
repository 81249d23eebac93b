// `npm run gitfleet -- render` in this repository, as a user who only cloned it runs it: no
// kustomize on PATH and none configured, yet a kustomize overlay renders with the pinned build.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL("../../..", import.meta.url));
const wrapper = join(root, "e2e/src/cli/gitfleet.ts");

/** A PATH with only the folders of node and go, so no kustomize is found there. */
async function pathWithoutKustomize(): Promise<string> {
  const { stdout } = await execFileAsync("go", ["env", "GOROOT"]);
  return [dirname(process.execPath), join(stdout.trim(), "bin")].join(":");
}

void describe("npm run gitfleet in the repository", () => {
  void it("renders a kustomize overlay with the pinned kustomize when none is on PATH", { timeout: 600_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: await pathWithoutKustomize() };
    delete env["GITFLEET_KUSTOMIZE"];
    const { stdout } = await execFileAsync(
      process.execPath,
      ["--conditions=@gitfleet/source", "--import", "tsx", wrapper, "render", "--repo", join(root, "e2e/fixtures/demo-fleet"), "--cluster", "prod-eu", "--labels", "env=prod,region=eu", "--bundle", "web", "-o", "json"],
      { cwd: root, env, maxBuffer: 16 * 1024 * 1024 },
    );
    type Rendered = { kind: string; metadata: { labels?: Record<string, string> } };
    const rendered = JSON.parse(stdout) as { cluster: string; bundles: { name: string; objects: Rendered[] }[] };
    assert.equal(rendered.cluster, "prod-eu");
    const web = rendered.bundles.find((b) => b.name === "web");
    assert.ok(web, `no web bundle in the output: ${stdout.slice(0, 400)}`);
    assert.ok(web.objects.some((o) => o.kind === "Service"), "the base's Service is in the overlay's output");
    // Only kustomize adds the overlay's labels: the overlay went through the pinned binary.
    for (const object of web.objects) assert.equal(object.metadata.labels?.["app.kubernetes.io/instance"], "web-prod-eu", `${object.kind} carries the prod-eu overlay's label`);
  });
});
