// `npm run build:packages`: bundles each product into its package folder, checks the committed
// manifest against what the bundle really imports, and packs the tarball with npm.
import { execFile } from "node:child_process";
import { copyFile, cp, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { buildWebUi } from "../fleet/web-ui.js";
import { bundle, type BundleResult } from "./bundle.js";
import { outputDir, repoRoot, type Product } from "./products.js";

const execFileAsync = promisify(execFile);

/** The fields of a package manifest the checks read. */
export interface PackageManifest {
  name: string;
  version: string;
  bin?: Record<string, string>;
  files?: string[];
  engines?: Record<string, string>;
  license?: string;
  repository?: unknown;
  dependencies?: Record<string, string>;
}

/** Reads a package.json under the repository root. */
export async function readManifest(path: string): Promise<PackageManifest> {
  return JSON.parse(await readFile(join(repoRoot, path), "utf8")) as PackageManifest;
}

/** Bundles a product as its package ships it; writes the bundle into the package folder when `write`. */
export function bundleProduct(product: Product, write: boolean): Promise<BundleResult> {
  return bundle({
    entry: product.entry,
    kind: product.kind,
    format: product.kind === "self-contained" ? "cjs" : "esm",
    outfile: write ? join(repoRoot, product.packageDir, product.bundle) : undefined,
  });
}

/**
 * What is wrong with a product's committed manifest, given its bundle: its name, version, bin,
 * files, engines, licence and repository, and dependencies that are exactly the npm packages the
 * bundle imports, each with the range of the workspace that uses it.
 */
export async function manifestProblems(product: Product, built: BundleResult): Promise<string[]> {
  const where = `${product.packageDir}/package.json`;
  const manifest = await readManifest(where);
  const problems: string[] = [];
  if (manifest.name !== product.name) problems.push(`name is ${manifest.name}, not ${product.name}`);
  if (manifest.version !== PRODUCT_VERSION) problems.push(`version is ${manifest.version}, not the product version ${PRODUCT_VERSION}`);
  if (manifest.bin?.[product.name] !== product.bundle) problems.push(`bin.${product.name} must be ${product.bundle}`);
  for (const file of [product.bundle, "LICENSE", "README.md", ...(product.assets ? [product.assets.to] : [])]) {
    if (!manifest.files?.includes(file)) problems.push(`files must list ${file}`);
  }
  if (manifest.engines?.["node"] !== ">=24") problems.push('engines.node must be ">=24"');
  if (manifest.license !== "Apache-2.0") problems.push("license must be Apache-2.0");
  if (!manifest.repository) problems.push("repository is missing");

  const wanted: Record<string, string> = {};
  for (const name of built.external) {
    let range: string | undefined;
    for (const source of product.sources) range ??= (await readManifest(source)).dependencies?.[name];
    if (range === undefined) problems.push(`the bundle imports ${name}, which none of ${product.sources.join(", ")} depends on`);
    else wanted[name] = range;
  }
  const listed = manifest.dependencies ?? {};
  for (const [name, range] of Object.entries(wanted)) {
    if (listed[name] === undefined) problems.push(`dependencies lacks ${name} ("${range}"), which the bundle imports`);
    else if (listed[name] !== range) problems.push(`dependencies.${name} is "${listed[name]}", but the workspace has "${range}"`);
  }
  for (const name of Object.keys(listed)) if (wanted[name] === undefined) problems.push(`dependencies lists ${name}, which the bundle does not import`);
  return problems.map((p) => `${where}: ${p}`);
}

/** Builds and packs one product; resolves with the tarball's path. */
export async function packProduct(product: Product, destination: string = join(outputDir, "packages")): Promise<string> {
  const built = await bundleProduct(product, true);
  const problems = await manifestProblems(product, built);
  if (problems.length > 0) throw new Error(`cannot pack ${product.name}:\n  ${problems.join("\n  ")}`);
  const dir = join(repoRoot, product.packageDir);
  await copyFile(join(repoRoot, "LICENSE"), join(dir, "LICENSE"));
  if (product.assets) {
    // Built again, so the package never ships a UI older than its sources.
    await buildWebUi();
    await rm(join(dir, product.assets.to), { recursive: true, force: true });
    await cp(join(repoRoot, product.assets.from), join(dir, product.assets.to), { recursive: true });
  }
  await mkdir(destination, { recursive: true });
  const { stdout } = await execFileAsync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", destination], { cwd: dir });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  if (!packed) throw new Error(`npm pack printed no tarball for ${product.name}`);
  return join(destination, packed.filename);
}
