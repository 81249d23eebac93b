#!/usr/bin/env node
// Builds the web UI into the hub's dist/ui: one script, one style sheet and index.html, all
// served by the hub itself (no CDN). Run by the hub's `build` script; `--if-missing` builds only
// when dist/ui has no index.html yet (the demo and the browser tests run it that way).
import { copyFile, mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "dist", "ui");

if (process.argv.includes("--if-missing")) {
  const built = await stat(join(out, "index.html")).then(
    () => true,
    () => false,
  );
  if (built) process.exit(0);
}
await mkdir(out, { recursive: true });
const started = Date.now();
await build({
  entryPoints: { app: join(here, "src", "main.tsx") },
  outdir: out,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "linked",
  logLevel: "warning",
});
await copyFile(join(here, "index.html"), join(out, "index.html"));
process.stdout.write(`[ui] built the web UI into ${out} in ${Date.now() - started} ms\n`);
