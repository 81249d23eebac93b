// Bundles an entry point with esbuild, from the workspaces' TypeScript sources (the
// @gitfleet/source condition), and tells what went in and what stayed an import.
import { builtinModules } from "node:module";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { build, type Metafile, type Plugin } from "esbuild";
import { repoRoot } from "./products.js";

/** Options of {@link bundle}. */
export interface BundleOptions {
  /** Entry point, relative to the repository root. */
  entry: string;
  /** Output file (absolute); nothing is written when undefined. */
  outfile?: string | undefined;
  /** `self-contained` inlines every npm package; `own-code` inlines only the @gitfleet workspaces. */
  kind: "self-contained" | "own-code";
  /** CommonJS for single executables (Node 24 runs only CommonJS there); ESM otherwise. */
  format: "cjs" | "esm";
}

/** What a bundle is made of. */
export interface BundleResult {
  /** The bundle's text. */
  code: string;
  /** npm packages with code in the bundle, by name, with the bytes each adds. */
  inlined: Map<string, number>;
  /** npm packages the bundle imports at run time (own-code bundles), sorted. */
  external: string[];
  metafile: Metafile;
}

const builtins = new Set(builtinModules);

/** The npm package a bare import names: "@scope/name/sub" -> "@scope/name", "name/sub" -> "name". */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/** The npm package a bundled file belongs to, or undefined for the workspaces' own files. */
function packageOfFile(path: string): string | undefined {
  const at = path.lastIndexOf("node_modules/");
  return at < 0 ? undefined : packageOf(path.slice(at + "node_modules/".length));
}

/** Leaves every npm package an import (own-code bundles); the workspaces are bundled. */
function npmPackagesExternal(found: Set<string>): Plugin {
  return {
    name: "npm-packages-external",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith("node:") || builtins.has(args.path)) return { external: true };
        if (args.path.startsWith("@gitfleet/")) return undefined;
        found.add(packageOf(args.path));
        return { path: args.path, external: true };
      });
    },
  };
}

/** Bundles `options.entry`; writes `outfile` when given. */
export async function bundle(options: BundleOptions): Promise<BundleResult> {
  const external = new Set<string>();
  const result = await build({
    entryPoints: [join(repoRoot, options.entry)],
    absWorkingDir: repoRoot,
    bundle: true,
    platform: "node",
    target: "node24",
    format: options.format,
    conditions: ["@gitfleet/source"],
    metafile: true,
    write: false,
    outfile: options.outfile ?? join(repoRoot, "dist", "bundle.js"),
    legalComments: "eof",
    logLevel: "error",
    plugins: options.kind === "own-code" ? [npmPackagesExternal(external)] : [],
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild wrote nothing for ${options.entry}`);
  if (options.outfile) {
    await mkdir(dirname(options.outfile), { recursive: true });
    await writeFile(options.outfile, output.contents, { mode: 0o755 });
  }
  const inlined = new Map<string, number>();
  for (const out of Object.values(result.metafile.outputs)) {
    for (const [file, input] of Object.entries(out.inputs)) {
      const name = packageOfFile(file);
      if (name !== undefined && input.bytesInOutput > 0) inlined.set(name, (inlined.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return { code: output.text, inlined, external: [...external].sort(), metafile: result.metafile };
}

/** A path relative to the repository root, for messages. */
export function fromRoot(path: string): string {
  return relative(repoRoot, path);
}
