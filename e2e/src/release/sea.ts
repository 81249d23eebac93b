// `npm run build:binaries`: single executables (Node.js SEA) for linux-x64. A self-contained
// CommonJS bundle (Node 24 runs only CommonJS as an executable's main script) becomes a blob with
// `node --experimental-sea-config`, which postject injects into a copy of the Node binary.
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { bundle } from "./bundle.js";
import { outputDir } from "./products.js";

const execFileAsync = promisify(execFile);

/** The fuse Node looks for to know it carries a blob (from Node's SEA documentation). */
const seaFuse = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** A single executable to build. */
export interface BinarySpec {
  /** The command's name; the file is `<name>-linux-x64`. */
  name: "gitfleet" | "gitfleet-agent";
  /** Entry point, relative to the repository root. */
  entry: string;
}

/** The single executables gitfleet builds: the CLI and the agent. */
export const binaries: readonly BinarySpec[] = [
  { name: "gitfleet", entry: "hub/src/bin/gitfleet.ts" },
  { name: "gitfleet-agent", entry: "agent/src/main.ts" },
];

/** Options of {@link buildBinary}. */
export interface BuildBinaryOptions {
  /** Folder for the executable; default dist/bin. */
  destination?: string;
  /** The Node binary to embed; default the one running this (the project's pinned Node 24). */
  node?: string;
}

/** A built executable. */
export interface BuiltBinary {
  path: string;
  /** Whether the Node binary's symbols were stripped (binutils' `strip` was found): 18 MiB less. */
  stripped: boolean;
}

/** Builds one single executable for this platform. */
export async function buildBinary(spec: BinarySpec, options: BuildBinaryOptions = {}): Promise<BuiltBinary> {
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error(`single executables are built for linux-x64 only, not ${process.platform}-${process.arch}`);
  const node = options.node ?? process.execPath;
  const destination = options.destination ?? join(outputDir, "bin");
  const work = await mkdtemp(join(tmpdir(), `gitfleet-sea-${spec.name}-`));
  try {
    const main = join(work, `${spec.name}.cjs`);
    await bundle({ entry: spec.entry, kind: "self-contained", format: "cjs", outfile: main });
    const blob = join(work, `${spec.name}.blob`);
    const config = join(work, "sea-config.json");
    // The code cache makes start-up faster; it is tied to this Node version, as the binary is.
    await writeFile(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
    await execFileAsync(node, ["--experimental-sea-config", config], { cwd: work });
    await mkdir(destination, { recursive: true });
    const out = join(destination, `${spec.name}-linux-x64`);
    await rm(out, { force: true });
    await copyFile(node, out);
    await chmod(out, 0o755);
    // Node's release binary keeps its symbol table, which nothing at run time reads.
    const stripped = await execFileAsync("strip", [out]).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return false;
        throw err;
      },
    );
    const postject = createRequire(import.meta.url).resolve("postject/dist/cli.js");
    await execFileAsync(node, [postject, out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", seaFuse], { cwd: work });
    return { path: out, stripped };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
