// The lint rule that keeps a folder with an index.ts sealed (hub/src/delivery and its parts):
// run on a small tree of its own, as ESLint runs it on the repository.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Linter } from "eslint";
// @ts-expect-error: the rule is plain JavaScript next to the ESLint config, without typings.
import gitfleet from "../../../scripts/eslint/folder-index.js";

let root: string;

function problems(file: string, code: string): string[] {
  const config = [
    {
      files: ["**/*.ts"],
      plugins: { gitfleet: gitfleet as never },
      languageOptions: { sourceType: "module" as const },
      rules: { "gitfleet/folder-index": "error" as const },
    },
  ];
  // The tree lives outside the working directory, so the linter is rooted there.
  return new Linter({ configType: "flat", cwd: root }).verify(code, config, { filename: join(root, file) }).map((m) => m.message);
}

void describe("lint: a folder with an index.ts is entered only through it", () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "gitfleet-lint-"));
    for (const dir of ["pkg/src/delivery/render", "pkg/src/delivery/fleet", "pkg/src/api"]) await mkdir(join(root, dir), { recursive: true });
    for (const file of ["delivery/index.ts", "delivery/resolve.ts", "delivery/render/index.ts", "delivery/render/kustomize.ts", "delivery/fleet/index.ts", "delivery/fleet/variables.ts"]) {
      await writeFile(join(root, "pkg/src", file), "export {};\n");
    }
  });
  after(async () => rm(root, { recursive: true, force: true }));

  void it("lets the rest of the package import the folder's index", () => {
    assert.deepEqual(problems("pkg/src/api/routes.ts", 'import { x } from "../delivery/index.js";'), []);
  });

  void it("refuses a file outside that reaches inside, and names the index to use", () => {
    const found = problems("pkg/src/api/routes.ts", 'import { x } from "../delivery/resolve.js";\nexport { y } from "../delivery/render/kustomize.js";');
    assert.equal(found.length, 2);
    assert.match(found[0] ?? "", /\.\.\/delivery\/resolve\.js reaches inside .*delivery\/; import from \.\.\/delivery\/index\.js/);
  });

  void it("treats each part of the folder as sealed against its siblings", () => {
    assert.deepEqual(problems("pkg/src/delivery/render/kustomize.ts", 'import { x } from "../fleet/index.js";'), []);
    const found = problems("pkg/src/delivery/render/kustomize.ts", 'import { x } from "../fleet/variables.js";');
    assert.equal(found.length, 1);
    assert.match(found[0] ?? "", /import from \.\.\/fleet\/index\.js/);
  });

  void it("lets files inside a folder import each other and the level above", () => {
    assert.deepEqual(problems("pkg/src/delivery/resolve.ts", 'import { x } from "./render/index.js";\nimport { y } from "./errors.js";'), []);
    assert.deepEqual(problems("pkg/src/delivery/render/index.ts", 'export { k } from "./kustomize.js";'), []);
  });
});
