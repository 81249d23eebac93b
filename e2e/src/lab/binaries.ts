import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

/** The Go-built servers and tools the lab, the demo and the tests need. */
export type LabTool =
  | "kube-apiserver"
  | "kube-controller-manager"
  | "kube-scheduler"
  | "kwok"
  | "nats-server"
  | "kustomize"
  | "helm"
  | "toxiproxy";

interface ToolSpec {
  /** Go module folder under e2e/servers that pins the tool's version. */
  module: string;
  /** Package to build, relative to the module or a full import path. */
  pkg: string;
  /** Environment variable that overrides the build with a given binary. */
  overrideEnv: string;
}

const tools: Record<LabTool, ToolSpec> = {
  "kube-apiserver": { module: "kube-apiserver", pkg: ".", overrideEnv: "GITFLEET_KUBE_APISERVER_BIN" },
  // Same module, so the same Kubernetes release and replace list as the apiserver.
  "kube-controller-manager": {
    module: "kube-apiserver",
    pkg: "k8s.io/kubernetes/cmd/kube-controller-manager",
    overrideEnv: "GITFLEET_KUBE_CONTROLLER_MANAGER_BIN",
  },
  "kube-scheduler": {
    module: "kube-apiserver",
    pkg: "k8s.io/kubernetes/cmd/kube-scheduler",
    overrideEnv: "GITFLEET_KUBE_SCHEDULER_BIN",
  },
  kwok: { module: "kwok", pkg: "sigs.k8s.io/kwok/cmd/kwok", overrideEnv: "GITFLEET_KWOK_BIN" },
  "nats-server": {
    module: "nats-server",
    pkg: "github.com/nats-io/nats-server/v2",
    overrideEnv: "GITFLEET_NATS_SERVER_BIN",
  },
  kustomize: {
    module: "kustomize",
    pkg: "sigs.k8s.io/kustomize/kustomize/v5",
    overrideEnv: "GITFLEET_KUSTOMIZE_BIN",
  },
  // Lints and renders the charts in tests; never talks to a cluster.
  helm: { module: "helm", pkg: "helm.sh/helm/v3/cmd/helm", overrideEnv: "GITFLEET_HELM_BIN" },
  // Fault injection between agents and the hub or NATS (latency, dropped connections, partitions).
  toxiproxy: {
    module: "toxiproxy",
    pkg: "github.com/Shopify/toxiproxy/v2/cmd/server",
    overrideEnv: "GITFLEET_TOXIPROXY_BIN",
  },
};

/** Folder of the Go modules that pin the lab's servers. */
export const serversDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../servers");

/** Where built binaries are cached across clones and runs; GITFLEET_CACHE_DIR overrides. */
export function cacheDir(): string {
  const base = process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache");
  return process.env["GITFLEET_CACHE_DIR"] ?? join(base, "gitfleet");
}

/** Receives one line of human-readable progress. */
export type ProgressFn = (line: string) => void;

/**
 * Returns the path of a built tool, building it first when no binary for the
 * current inputs (module files, package, build flags, Go version, platform) is cached. Builds show
 * progress because a cold kube-apiserver build takes many minutes.
 */
export async function ensureBinary(tool: LabTool, progress: ProgressFn = () => {}): Promise<string> {
  const spec = tools[tool];
  const override = process.env[spec.overrideEnv];
  if (override) return override;
  const moduleDir = join(serversDir, spec.module);
  const key = await inputsKey(moduleDir, spec.pkg);
  const out = join(cacheDir(), "bin", `${tool}-${key}`);
  if (await exists(out)) return out;
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  progress(`building ${tool} from ${spec.module}/go.mod (cached afterwards)`);
  const started = Date.now();
  await goBuild(moduleDir, spec.pkg, tmp, (n) =>
    progress(`building ${tool}: ${n} packages compiled, ${Math.round((Date.now() - started) / 1000)}s`),
  );
  await rename(tmp, out);
  progress(`built ${tool} in ${Math.round((Date.now() - started) / 1000)}s`);
  return out;
}

/** Builds every tool the lab needs, one after the other (builds use all cores). */
export async function ensureBinaries(
  wanted: readonly LabTool[],
  progress?: ProgressFn,
): Promise<Record<LabTool, string>> {
  const paths = {} as Record<LabTool, string>;
  for (const tool of wanted) paths[tool] = await ensureBinary(tool, progress);
  return paths;
}

const buildArgs = ["build", "-v", "-trimpath", "-ldflags=-s -w"];

// Several tools can come from one module (the Kubernetes components share the apiserver's
// go.mod), so the package is part of the key, beside every Go file of the module.
async function inputsKey(moduleDir: string, pkg: string): Promise<string> {
  const hash = createHash("sha256");
  hash.update(`${process.platform}/${process.arch}\n${await goVersion()}\n${buildArgs.join(" ")}\n${pkg}\n`);
  const files = (await readdir(moduleDir, { recursive: true })).filter((f) => /\.(go|mod|sum)$/.test(f)).sort();
  for (const file of files) {
    hash.update(`${file}\n`);
    hash.update(await readFile(join(moduleDir, file)));
  }
  return hash.digest("hex").slice(0, 16);
}

let goVersionCache: Promise<string> | undefined;
function goVersion(): Promise<string> {
  goVersionCache ??= runCapture("go", ["env", "GOVERSION"]).then((v) => v.trim());
  return goVersionCache;
}

function runCapture(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", (err) => reject(new Error(`cannot run ${cmd}: ${err.message}; is Go installed?`)));
    child.once("exit", (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`)),
    );
  });
}

async function goBuild(moduleDir: string, pkg: string, out: string, onCount: (n: number) => void): Promise<void> {
  const args = [...buildArgs, "-o", out, pkg];
  const child = spawn("go", args, {
    cwd: moduleDir,
    env: { ...process.env, CGO_ENABLED: "0" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  // `go build -v` names each package as it compiles; other stderr lines are errors.
  let count = 0;
  let lastReport = Date.now();
  const errors: string[] = [];
  const lines = createInterface({ input: child.stderr });
  lines.on("line", (line) => {
    if (/^[\w.-]+(\/[\w.@+~-]+)*$/.test(line.trim())) {
      count++;
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        onCount(count);
      }
    } else {
      errors.push(line);
    }
  });
  const code = await new Promise<number | null>((res, rej) => {
    child.once("error", (err) => rej(new Error(`cannot run go: ${err.message}; is Go installed?`)));
    child.once("exit", res);
  });
  if (code !== 0) {
    await rm(out, { force: true });
    throw new Error(`go build of ${pkg} in ${moduleDir} failed (exit ${code}):\n${errors.slice(-30).join("\n")}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
