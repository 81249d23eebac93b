#!/usr/bin/env node
// `npm run set-version -- X.Y.Z`: gives the whole product a new version in one step: every
// package.json (workspaces, the npm packages under hub/npm and agent/npm, and the workspaces'
// dependencies on each other), both Helm charts (version and appVersion), PRODUCT_VERSION in
// @gitfleet/proto/rules, and package-lock.json. A test fails while any of them disagree, or while
// CHANGELOG.md has no section for the version. Plain Node, no dependencies.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const version = process.argv[2] ?? "";
if (!/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error(`usage: npm run set-version -- MAJOR.MINOR.PATCH (got "${version}")`);
  process.exit(2);
}

const rewrite = (path, change) => {
  const file = join(root, path);
  const before = readFileSync(file, "utf8");
  const after = change(before);
  if (after === before) return;
  writeFileSync(file, after);
  console.log(`updated ${path}`);
};

const workspaces = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces;
const manifests = ["package.json", ...workspaces.map((w) => `${w}/package.json`), "hub/npm/gitfleet/package.json", "hub/npm/gitfleet-hub/package.json", "agent/npm/gitfleet-agent/package.json"];
for (const path of manifests) {
  rewrite(path, (text) => {
    const json = JSON.parse(text);
    json.version = version;
    for (const field of ["dependencies", "devDependencies"]) {
      for (const name of Object.keys(json[field] ?? {})) if (name.startsWith("@gitfleet/")) json[field][name] = version;
    }
    return `${JSON.stringify(json, null, 2)}\n`;
  });
}
for (const chart of ["charts/gitfleet-hub/Chart.yaml", "charts/gitfleet-agent/Chart.yaml"]) {
  rewrite(chart, (text) => text.replace(/^version: .*$/m, `version: ${version}`).replace(/^appVersion: .*$/m, `appVersion: "${version}"`));
}
rewrite("proto/src/rules/version.ts", (text) => text.replace(/^export const PRODUCT_VERSION = ".*";$/m, `export const PRODUCT_VERSION = "${version}";`));

const lock = spawnSync("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
if (lock.status !== 0) process.exit(lock.status ?? 1);
if (!readFileSync(join(root, "CHANGELOG.md"), "utf8").includes(`## [${version}]`)) {
  console.log(`now give CHANGELOG.md a "## [${version}] - YYYY-MM-DD" section: move what [Unreleased] holds into it`);
}
