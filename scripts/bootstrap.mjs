#!/usr/bin/env node
// Makes a fresh clone runnable: installs npm packages when they are missing or
// older than package-lock.json. Plain Node, no dependencies, so it runs first.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`gitfleet needs Node 20.19 or newer; this is ${process.version}`);
  process.exit(1);
}

const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
const stale = !existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs);
if (stale) {
  console.log("[setup] installing npm packages (npm ci)...");
  const ci = existsSync(lock) ? ["ci", "--no-audit", "--no-fund"] : ["install", "--no-audit", "--no-fund"];
  const res = spawnSync("npm", ci, { cwd: root, stdio: "inherit" });
  if (res.status !== 0) {
    console.error("[setup] npm install failed");
    process.exit(res.status ?? 1);
  }
}
const go = spawnSync("go", ["version"], { encoding: "utf8" });
if (go.status !== 0) {
  console.error("[setup] Go is required to build the lab's servers (kube-apiserver, nats-server); install Go 1.26+");
  process.exit(1);
}
