#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm packages when they are missing or
// older than package-lock.json, then checks that the Node.js that npm scripts run
// on is the one package.json pins. Plain Node, no dependencies, so it runs first,
// also on an older system Node: that one only installs.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fail = (message) => {
  console.error(`[setup] ${message}`);
  process.exit(1);
};

if (Number(process.versions.node.split(".")[0]) < 20) {
  fail(`installing needs Node 20 or newer (gitfleet itself runs on the Node 24 that npm installs); this is ${process.version}`);
}

const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
const stale = !existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs);
if (stale) {
  console.log("[setup] installing npm packages (npm ci)...");
  if (Number(process.versions.node.split(".")[0]) < 24) {
    console.log(`[setup] npm runs on ${process.version} here, so it warns that packages want a newer Node (EBADENGINE); they run on the Node 24 it installs`);
  }
  const ci = existsSync(lock) ? ["ci", "--no-audit", "--no-fund"] : ["install", "--no-audit", "--no-fund"];
  const res = spawnSync("npm", ci, { cwd: root, stdio: "inherit" });
  if (res.status !== 0) fail("npm install failed");
}

// The `node` devDependency puts a pinned Node at node_modules/.bin/node, first on the PATH of
// every npm script. Its binary comes from its install script (it installs the platform package
// node-<os>-<cpu>); npm may skip install scripts, so check, and run it once more if needed.
const pinned = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies?.node;
const pinnedNode = join(root, "node_modules", ".bin", "node");
const versionOf = (bin) => spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout?.trim();
if (pinned && versionOf(pinnedNode) !== `v${pinned}`) {
  console.log(`[setup] Node ${pinned} is not in node_modules yet; running its install script (npm rebuild node)...`);
  spawnSync("npm", ["rebuild", "node", "--foreground-scripts"], { cwd: root, stdio: "inherit" });
  const found = versionOf(pinnedNode);
  if (found !== `v${pinned}`) {
    fail(
      `npm scripts need Node ${pinned} at node_modules/.bin/node, but ${found ? `it is ${found}` : "it is missing"}. ` +
        `It comes from the install script of the npm package "node" (package.json allows it under "allowScripts"); ` +
        `run \`npm rebuild node --foreground-scripts\` and read its output, or remove node_modules and run this again.`,
    );
  }
}

const go = spawnSync("go", ["version"], { encoding: "utf8" });
if (go.status !== 0) fail("Go is required to build the lab's servers (kube-apiserver, nats-server); install Go 1.26+");
