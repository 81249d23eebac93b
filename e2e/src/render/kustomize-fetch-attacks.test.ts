// Attack: a fleet repository that makes kustomize fetch a URL reads whatever the hub can reach
// (its own loopback services, cloud metadata) into a cluster's desired state. A loopback HTTP
// server holding a secret stands in for such a service; each attack overlay is rendered by the
// hub's renderer with the pinned kustomize binary, must fail with an error that names the file,
// line and field, and the server must see no request at all. A control run of the bare binary
// shows the attack is real. The binary comes from GITFLEET_KUSTOMIZE, which `npm test` sets.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { createKustomizeRenderer, KustomizeError, type KustomizeRenderer } from "@gitfleet/hub/delivery";
import { skipUnlessTool } from "../lab/skip.js";
import { snapshotOf } from "./snapshot-tree.js";

const execFileAsync = promisify(execFile);
const binary = process.env["GITFLEET_KUSTOMIZE"];
const SECRET = "s3cr3t-from-the-hubs-loopback";

/** An attack: the overlay's files (`URL` stands for the secret server's address) and what the refusal must say. */
interface Attack {
  name: string;
  files: Record<string, string>;
  failure: "remote-refused" | "helm-refused";
  message: RegExp;
}

const attacks: Attack[] = [
  {
    name: "configMapGenerator files naming a URL",
    files: { "kustomization.yaml": "configMapGenerator:\n  - name: stolen\n    files:\n      - x=URL/secret\n" },
    failure: "remote-refused",
    message: /^a\/kustomization\.yaml:4: configMapGenerator\[0\]\.files\[0\]: remote reference "http:\/\/127\.0\.0\.1:\d+\/secret" refused/,
  },
  {
    name: "secretGenerator envs naming a URL",
    files: { "kustomization.yaml": "secretGenerator:\n  - name: stolen\n    envs: [URL/env]\n" },
    failure: "remote-refused",
    message: /^a\/kustomization\.yaml:3: secretGenerator\[0\]\.envs\[0\]: remote reference/,
  },
  {
    name: "an inline generator config naming a URL",
    files: {
      "kustomization.yaml": "generators:\n  - |-\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata:\n      name: stolen\n    files:\n      - x=URL/secret\n",
    },
    failure: "remote-refused",
    message: /^a\/kustomization\.yaml:8: generators\[0\] ConfigMapGenerator\.files\[0\]: remote reference/,
  },
  {
    name: "a generator config file naming a URL",
    files: {
      "kustomization.yaml": "generators: [gen.yaml]\n",
      "gen.yaml": "apiVersion: builtin\nkind: SecretGenerator\nmetadata:\n  name: stolen\nenv: URL/env\n",
    },
    failure: "remote-refused",
    message: /^a\/gen\.yaml:5: SecretGenerator\.env: remote reference/,
  },
  {
    name: "a remote resource",
    files: { "kustomization.yaml": "resources:\n  - URL/secret.yaml\n" },
    failure: "remote-refused",
    message: /^a\/kustomization\.yaml:2: resources\[0\]: remote reference/,
  },
  {
    name: "a remote component",
    files: { "kustomization.yaml": "components:\n  - URL/repo.git//component?ref=main\n" },
    failure: "remote-refused",
    message: /^a\/kustomization\.yaml:2: components\[0\]: remote reference/,
  },
  {
    name: "a patch loaded from a URL by an inline transformer",
    files: {
      "kustomization.yaml":
        "resources: [cm.yaml]\ntransformers:\n  - |-\n    apiVersion: builtin\n    kind: PatchTransformer\n    metadata:\n      name: p\n    path: URL/patch.yaml\n",
      "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    },
    failure: "remote-refused",
    message: /^a\/kustomization\.yaml:8: transformers\[0\] PatchTransformer\.path: remote reference/,
  },
  {
    name: "a helmCharts repository",
    files: { "kustomization.yaml": "helmCharts:\n  - name: stolen\n    repo: URL/charts\n    version: 1.0.0\n" },
    failure: "helm-refused",
    message: /^a\/kustomization\.yaml:2: helmCharts: Helm charts are not rendered by the hub/,
  },
];

void describe("kustomize cannot be made to fetch a URL", { skip: skipUnlessTool(binary ? false : "GITFLEET_KUSTOMIZE is not set: run through `npm test`, which builds the pinned kustomize") }, () => {
  let server: Server;
  let url: string;
  const requests: string[] = [];
  let renderer: KustomizeRenderer;
  let temp: string;

  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? "");
      res.end(SECRET);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    renderer = createKustomizeRenderer({ binary: binary ?? "kustomize" });
    temp = await mkdtemp(join(tmpdir(), "gitfleet-fetch-attack-"));
  });
  after(async () => {
    await renderer.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(temp, { recursive: true, force: true });
  });

  const filesOf = (attack: Attack): Map<string, Uint8Array> =>
    new Map(Object.entries(attack.files).map(([path, text]) => [`a/${path}`, new TextEncoder().encode(text.replaceAll("URL", url))]));

  void test("control: the bare kustomize binary does fetch an inline generator's URL from loopback", async () => {
    const attack = attacks.find((a) => a.name === "an inline generator config naming a URL");
    assert.ok(attack);
    for (const [path, bytes] of filesOf(attack)) {
      await mkdir(dirname(join(temp, path)), { recursive: true });
      await writeFile(join(temp, path), bytes);
    }
    const { stdout } = await execFileAsync(binary ?? "kustomize", ["build", join(temp, "a")]);
    assert.match(stdout, new RegExp(SECRET), "the control build did not read the secret: the attack below proves nothing");
    assert.deepEqual(requests, ["/secret"]);
    requests.length = 0;
  });

  for (const attack of attacks) {
    void test(`${attack.name}: refused with file, line and field; the secret server sees no request`, async () => {
      const snapshot = snapshotOf(filesOf(attack));
      let err: unknown;
      try {
        const out = await renderer.render({ snapshot, dir: "a" });
        assert.fail(`the overlay rendered: ${JSON.stringify(out.objects)}`);
      } catch (caught) {
        err = caught;
      }
      assert.ok(err instanceof KustomizeError, `expected a KustomizeError, got ${String(err)}`);
      assert.equal(err.failure, attack.failure, err.message);
      assert.match(err.message, attack.message);
      assert.doesNotMatch(err.message, new RegExp(SECRET));
      assert.deepEqual(requests, [], `the secret server was asked for ${requests.join(", ")}`);
    });
  }
});
