// What gitfleet ships: three npm packages and two single executables, each built from a
// workspace's entry point. The packages' manifests are committed (hub/npm/*, agent/npm/*); their
// `dist/` is built here. docs/packaging.md says why the CLI is one self-contained file and the
// hub and agent are bundles of their own code with their npm dependencies left to npm.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** One npm package of the product. */
export interface Product {
  /** The npm package's name, also the name of its command. */
  name: "gitfleet" | "gitfleet-hub" | "gitfleet-agent";
  /** The entry point, relative to the repository root. */
  entry: string;
  /** The folder with the package's committed package.json, relative to the repository root. */
  packageDir: string;
  /** The bundle's path inside the package; package.json's `bin` points at it. */
  bundle: string;
  /**
   * `self-contained`: every import is in the bundle and the package has no dependencies (the
   * CLI: a small install that pulls in no server code). `own-code`: the workspaces' code is in
   * the bundle; npm packages stay imports, and the manifest lists exactly those.
   */
  kind: "self-contained" | "own-code";
  /** Workspace manifests whose dependency ranges the package's dependencies must repeat. */
  sources: readonly string[];
  /** A folder built beside the code that the package ships too (the hub's web UI): from, to in the package, relative. */
  assets?: { from: string; to: string };
}

/** The CLI, the hub and the agent as npm packages. */
export const products: readonly Product[] = [
  {
    name: "gitfleet",
    entry: "hub/src/bin/gitfleet.ts",
    packageDir: "hub/npm/gitfleet",
    bundle: "dist/gitfleet.cjs",
    kind: "self-contained",
    sources: [],
  },
  {
    name: "gitfleet-hub",
    entry: "hub/src/main.ts",
    packageDir: "hub/npm/gitfleet-hub",
    bundle: "dist/gitfleet-hub.mjs",
    kind: "own-code",
    sources: ["hub/package.json", "proto/package.json"],
    // The web UI, served by the hub from dist/ui next to its bundle.
    assets: { from: "hub/dist/ui", to: "dist/ui" },
  },
  {
    name: "gitfleet-agent",
    entry: "agent/src/main.ts",
    packageDir: "agent/npm/gitfleet-agent",
    bundle: "dist/gitfleet-agent.mjs",
    kind: "own-code",
    sources: ["agent/package.json", "proto/package.json"],
  },
];

/** The product of a name. */
export function product(name: Product["name"]): Product {
  const found = products.find((p) => p.name === name);
  if (!found) throw new Error(`no product ${name}`);
  return found;
}

/** Where `npm run build:packages` and `npm run build:binaries` put what they build. */
export const outputDir = join(repoRoot, "dist");
