// The hub's kustomize renderer against the pinned kustomize binary: what the hub renders from a
// snapshot must be what `kustomize build` prints for the same overlay on disk, object for object.
// The binary comes from GITFLEET_KUSTOMIZE, which `npm test` sets after building
// e2e/servers/kustomize.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  createKustomizeRenderer,
  createOverlayRenderer,
  KustomizeError,
  type KustomizeFailure,
  type KustomizeRenderer,
  type Snapshot,
} from "@gitfleet/hub/delivery";
import { parseAllDocuments } from "yaml";
import { skipUnlessTool } from "../lab/skip.js";
import { readTree, snapshotOf } from "./snapshot-tree.js";

const execFileAsync = promisify(execFile);
const binary = process.env["GITFLEET_KUSTOMIZE"];
const fixtures = fileURLToPath(new URL("../../fixtures/kustomize", import.meta.url));
const overlays = ["overlays/staging", "overlays/prod", "overlays/edge"];

type Obj = Record<string, unknown>;

function withFile(snapshot: Snapshot, path: string, content: string): Snapshot {
  const files = new Map(snapshot.files);
  files.set(path, new TextEncoder().encode(content));
  return snapshotOf(files);
}

/** A fingerprint of the inputs' contents, as the resolver's invalidation would take it. */
function inputsDigest(snapshot: Snapshot, inputs: readonly string[]): string {
  const hash = createHash("sha256");
  for (const path of inputs) {
    const bytes = snapshot.files.get(path);
    hash.update(`${path}\0${bytes === undefined ? "missing" : bytes.byteLength}\0`);
    if (bytes !== undefined) hash.update(bytes);
  }
  return hash.digest("hex");
}

/** `kind namespace/name` of an object, as a user would name it. */
function idOf(object: Obj): string {
  const metadata = (object["metadata"] ?? {}) as Obj;
  const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : "";
  return `${String(object["apiVersion"])} ${String(object["kind"])} ${namespace}/${String(metadata["name"])}`;
}

/** What the binary prints for an overlay folder on disk, parsed as the API server would read it. */
async function kustomizeBuild(dir: string): Promise<Obj[]> {
  const { stdout } = await execFileAsync(binary ?? "kustomize", ["build", dir], { maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(stdout, { version: "1.1" }).flatMap((doc) => {
    assert.deepEqual(doc.errors, [], `kustomize printed invalid YAML for ${dir}`);
    const value = doc.toJS() as Obj | null;
    return value === null ? [] : [value];
  });
}

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

void describe("kustomize renderer conformance with the kustomize binary", { skip: skipUnlessTool(binary ? false : "GITFLEET_KUSTOMIZE is not set: run through `npm test`, which builds the pinned kustomize") }, () => {
  let snapshot: Snapshot;
  let renderer: KustomizeRenderer;

  before(async () => {
    snapshot = snapshotOf(await readTree(fixtures));
    renderer = createKustomizeRenderer({ binary: binary ?? "kustomize" });
  });
  after(async () => {
    await renderer.close();
  });

  for (const overlay of overlays) {
    void test(`${overlay} renders the same objects, in the same order, as kustomize build`, async () => {
      const [rendered, expected] = await Promise.all([renderer.render({ snapshot, dir: overlay }), kustomizeBuild(join(fixtures, overlay))]);
      assert.ok(expected.length > 0);
      assert.deepEqual(rendered.objects.map(idOf), expected.map(idOf));
      for (const [i, object] of expected.entries()) assert.deepEqual(rendered.objects[i], object, `${idOf(object)} differs`);
    });
  }

  void test("the fixtures exercise what they claim: generators with hashes, prefixes, images, labels, patches, components", async () => {
    const byId = async (overlay: string): Promise<Map<string, Obj>> => {
      const { objects } = await renderer.render({ snapshot, dir: overlay });
      return new Map(objects.map((o) => [`${String(o["kind"])} ${String((o["metadata"] as Obj)["name"])}`, o]));
    };
    const staging = await byId("overlays/staging");
    const names = [...staging.keys()];
    assert.ok(names.some((n) => /^ConfigMap stg-web-config-[a-z0-9]{10}$/.test(n)), names.join(", "));
    assert.ok(names.some((n) => /^Secret stg-worker-credentials-[a-z0-9]{10}$/.test(n)), names.join(", "));
    const web = staging.get("Deployment stg-web") as { metadata: Obj; spec: { template: { metadata: Obj; spec: { containers: Obj[] } } } };
    assert.equal(web.metadata["namespace"], "staging");
    assert.deepEqual(web.metadata["annotations"], { "gitfleet.dev/owner": "storefront@example.com" });
    assert.equal((web.metadata["labels"] as Obj)["team"], "storefront");
    assert.equal(web.spec.template.spec.containers[0]?.["image"], "registry.example.com/web:1.4.2");
    assert.equal((web.spec.template.metadata["annotations"] as Obj)["prometheus.io/scrape"], "true");
    assert.deepEqual(web.spec.template.spec.containers[0]?.["resources"], { requests: { cpu: "100m", memory: "128Mi" } });
    assert.ok(staging.has("ServiceMonitor stg-web") && staging.has("Namespace staging"));
    const worker = staging.get("Deployment stg-worker") as { spec: { replicas: number } };
    assert.equal(worker.spec.replicas, 2);

    const prod = await byId("overlays/prod");
    const prodWeb = prod.get("Deployment web-eu") as { spec: { replicas: number; selector: { matchLabels: Obj } } };
    assert.equal(prodWeb.spec.replicas, 3);
    assert.deepEqual(prodWeb.spec.selector.matchLabels, { app: "web", region: "eu-west-1", stage: "prod" });
    assert.equal((prod.get("Deployment worker-eu") as { spec: { replicas: number } }).spec.replicas, 4);

    const edge = await byId("overlays/edge");
    assert.equal(((edge.get("Deployment worker") as { spec: { template: { spec: { containers: Obj[] } } } }).spec.template.spec.containers).length, 1);
    assert.equal((edge.get("ClusterRole edge-reader")?.["metadata"] as Obj)["namespace"], undefined);
  });

  void test("the hub's overlay renderer sends a kustomization to kustomize and a plain folder past it", async () => {
    const hub = createOverlayRenderer({ kustomize: renderer });
    const viaHub = await hub.render({ snapshot, dir: "overlays/edge" });
    assert.deepEqual(viaHub.objects, await kustomizeBuild(join(fixtures, "overlays/edge")));
    const plain = await hub.render({ snapshot, dir: "unrelated" });
    assert.deepEqual(plain.objects.map((o) => idOf(o)), ["v1 ConfigMap /unrelated"]);
  });

  void test("a missing resource file fails the overlay with kustomize's message and no work folder path", async () => {
    const err = await rejection(renderer.render({ snapshot, dir: "errors/missing-resource" }), "build-failed");
    assert.match(err.message, /^errors\/missing-resource: kustomize build failed: .*does-not-exist\.yaml/);
    assert.doesNotMatch(err.message, /gitfleet-kustomize-/);
  });

  void test("a remote resource is refused at once, before anything is fetched", async () => {
    const started = performance.now();
    const err = await rejection(renderer.render({ snapshot, dir: "errors/remote" }), "remote-refused");
    assert.ok(performance.now() - started < 2000, "refusing took too long");
    assert.match(err.message, /^errors\/remote\/kustomization\.yaml:\d+: resources\[1\]: remote reference "https:\/\/github\.com\/.*" refused/);
  });

  void test("invalid YAML in a patch fails the overlay and names the patch", async () => {
    const err = await rejection(renderer.render({ snapshot, dir: "errors/bad-patch" }), "build-failed");
    assert.match(err.message, /^errors\/bad-patch: kustomize build failed: .*broken\.yaml/s);
  });

  void test("a resource outside the repository is refused before kustomize runs", async () => {
    const err = await rejection(renderer.render({ snapshot, dir: "errors/outside" }), "outside-repository");
    assert.match(err.message, /outside the repository/);
  });

  void test("inputs: a base file is an input of the overlays that use it, an unrelated file of none", async () => {
    const inputs = new Map<string, readonly string[]>();
    for (const overlay of overlays) inputs.set(overlay, (await renderer.render({ snapshot, dir: overlay })).inputs);
    const base = "base/web/deployment.yaml";
    const touched = withFile(snapshot, base, `${new TextDecoder().decode(snapshot.files.get(base))}  minReadySeconds: 5\n`);
    const unrelated = withFile(snapshot, "unrelated/notes.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: changed\n");
    for (const [overlay, files] of inputs) {
      const usesWeb = overlay !== "overlays/edge";
      assert.equal(files.includes(base), usesWeb, `${overlay}: ${files.join(", ")}`);
      assert.equal(inputsDigest(touched, files) !== inputsDigest(snapshot, files), usesWeb, `${overlay}: a base change`);
      assert.equal(inputsDigest(unrelated, files), inputsDigest(snapshot, files), `${overlay}: an unrelated change`);
      // What the inputs say is what the output does.
      const [before, after] = await Promise.all([renderer.render({ snapshot, dir: overlay }), renderer.render({ snapshot: touched, dir: overlay })]);
      assert.equal(JSON.stringify(after.objects) !== JSON.stringify(before.objects), usesWeb, `${overlay}: output after a base change`);
    }
  });

  void test("inputs are complete: a snapshot of only an overlay's inputs renders the same", async () => {
    for (const overlay of overlays) {
      const full = await renderer.render({ snapshot, dir: overlay });
      const only = new Map([...snapshot.files].filter(([path]) => full.inputs.includes(path)));
      assert.ok(only.size < snapshot.files.size);
      const reduced = await renderer.render({ snapshot: snapshotOf(only), dir: overlay });
      assert.deepEqual(reduced.objects, full.objects, overlay);
      assert.deepEqual(reduced.inputs, full.inputs, overlay);
    }
  });
});
