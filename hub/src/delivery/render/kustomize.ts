// Rendering a kustomize overlay with the real kustomize binary, as Argo CD does: the commit's
// files are written to a folder once, `kustomize build` runs on the overlay, and its output is
// read back as objects in kustomize's own order. Before the binary runs, the overlay's
// kustomizations are walked to refuse remote and out-of-repository references and to list the
// build's inputs. Builds are CPU-heavy, so only a few run at once. kustomize prints every string
// alike, quoted in the source or not; which references are typed is read from the overlay's own
// files (kustomize-styles.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { dirname } from "node:path";
import { messageOf } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import { RenderError } from "../errors.js";
import { KustomizeError } from "./kustomize-error.js";
import { createCommitTrees } from "./kustomize-trees.js";
import { watchMemory } from "./process-memory.js";
import { walkKustomization } from "./kustomize-walk.js";
import { referenceStyles } from "./kustomize-styles.js";
import { parseManifestFile, type FieldPath, type KubeObject, type ParsedObject } from "./manifests.js";
import type { OverlayRenderer, OverlayRenderInput, RenderedOverlay } from "./overlay.js";
import { normalizeFolder } from "../snapshot.js";

/**
 * Renders overlays that hold a kustomization, behind createOverlayRenderer. `render` rejects
 * with {@link KustomizeError} (a RenderError) naming the overlay when it cannot be built. Its
 * `inputs` name files, never folders: every file under each folder the build can reach.
 */
export interface KustomizeRenderer extends OverlayRenderer {
  /** Stops running builds, refuses new ones, and removes the work folder. */
  close(): Promise<void>;
}

/** Options of {@link createKustomizeRenderer}. */
export interface KustomizeRendererOptions {
  /** The kustomize binary: a path, or a name looked up on PATH (the hub's GITFLEET_KUSTOMIZE). */
  binary: string;
  /** Folder to write commit trees in (a fresh sub-folder is made and removed); default the OS temp folder. */
  workDir?: string | undefined;
  /** A build running longer is killed; default 60 s. */
  timeoutMs?: number | undefined;
  /** Builds running at once; default 2. */
  maxConcurrent?: number | undefined;
  /** Largest output read from one build; default 256 MiB. */
  maxOutputBytes?: number | undefined;
  /** Resident memory a build may use before it is killed (its GOMEMLIMIT is set below it); default 1 GiB. */
  maxMemoryBytes?: number | undefined;
  logger?: Logger | undefined;
}

/** kustomize's own messages are short; a runaway stderr is cut here. */
const MAX_STDERR = 64 * 1024;
/** Longest part of kustomize's message quoted in an error. */
const MAX_MESSAGE = 4000;

/** Creates a {@link KustomizeRenderer} that runs `options.binary`. */
export function createKustomizeRenderer(options: KustomizeRendererOptions): KustomizeRenderer {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutputBytes = options.maxOutputBytes ?? 256 * 1024 * 1024;
  const maxMemoryBytes = options.maxMemoryBytes ?? 1024 * 1024 * 1024;
  const gate = createGate(Math.max(1, options.maxConcurrent ?? 2));
  const logger = options.logger;
  const trees = createCommitTrees(options.workDir, (err) => logger?.warn({ err }, "cannot remove the kustomize work folder"));
  const running = new Set<AbortController>();
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  const closedError = (overlay: string): KustomizeError =>
    new KustomizeError("closed", overlay, `${describe(overlay)}: not rendered, the kustomize renderer is closed`);

  async function render(input: OverlayRenderInput): Promise<RenderedOverlay> {
    const overlay = normalizeFolder(input.dir);
    if (overlay === undefined) {
      throw new KustomizeError("outside-repository", input.dir, `${input.dir}: the overlay folder must be a relative path inside the repository`);
    }
    if (closed) throw closedError(overlay);
    const { inputs } = walkKustomization(input.snapshot.files, overlay);
    let lease;
    try {
      lease = await trees.acquire(input.snapshot);
    } catch (cause) {
      throw new KustomizeError("unavailable", overlay, `${describe(overlay)}: cannot write the commit's files for kustomize: ${messageOf(cause)}`, { cause });
    }
    try {
      const output = await gate.run(() => {
        if (closed) throw closedError(overlay);
        return build(lease.root, overlay);
      });
      const parsed = parseOutput(overlay, output);
      return { objects: parsed.map((p) => p.object), inputs, ...typedReferences(input.snapshot.files, inputs, parsed) };
    } catch (err) {
      // Same inputs, same failure: the resolver may keep it until one of them changes. A timeout
      // or a missing binary is not the overlay's doing, and is tried again.
      if (err instanceof KustomizeError && (err.failure === "build-failed" || err.failure === "output-invalid")) err.inputs = inputs;
      throw err;
    } finally {
      lease.release();
    }
  }

  async function build(root: string, overlay: string): Promise<Buffer> {
    const started = performance.now();
    const abort = new AbortController();
    running.add(abort);
    try {
      const result = await runBuild({ binary: options.binary, root, overlay, timeoutMs, maxOutputBytes, maxMemoryBytes, signal: abort.signal });
      if (closed) throw closedError(overlay);
      const warnings = clean(result.stderr, root);
      if (result.kind === "spawn-failed") {
        throw new KustomizeError(
          "unavailable",
          overlay,
          `${describe(overlay)}: cannot run kustomize "${options.binary}": ${messageOf(result.error)}; set GITFLEET_KUSTOMIZE to the kustomize binary`,
          { cause: result.error },
        );
      }
      if (result.kind === "timeout") {
        throw new KustomizeError("timeout", overlay, `${describe(overlay)}: kustomize build did not finish within ${timeoutMs} ms and was stopped`);
      }
      if (result.kind === "too-large") {
        throw new KustomizeError("output-invalid", overlay, `${describe(overlay)}: kustomize build printed more than ${maxOutputBytes} bytes`);
      }
      if (result.kind === "memory") {
        throw new KustomizeError(
          "build-failed",
          overlay,
          `${describe(overlay)}: kustomize build used more than ${Math.round(maxMemoryBytes / (1024 * 1024))} MiB of memory and was stopped; split the overlay or make it smaller`,
        );
      }
      if (result.signal !== null) {
        // Killed from outside (out of memory, an operator): not the overlay's doing.
        throw new KustomizeError("unavailable", overlay, `${describe(overlay)}: kustomize build was killed by ${result.signal}`);
      }
      if (result.code !== 0) {
        const detail = kustomizeMessage(warnings) || `exit code ${result.code ?? "unknown"}`;
        throw new KustomizeError("build-failed", overlay, `${describe(overlay)}: kustomize build failed: ${detail}`);
      }
      if (warnings !== "") logger?.info({ overlay, warnings }, "kustomize build warned");
      logger?.debug({ overlay, ms: Math.round(performance.now() - started) }, "kustomize build done");
      return result.stdout;
    } finally {
      running.delete(abort);
    }
  }

  return {
    render(input) {
      const promise = render(input);
      const tracked = promise.catch(() => undefined).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return promise;
    },
    async close() {
      closed = true;
      for (const abort of running) abort.abort();
      await Promise.all([...inFlight]);
      await trees.close();
    },
  };
}

function describe(overlay: string): string {
  return overlay === "" ? "the repository root" : overlay;
}

function parseOutput(overlay: string, output: Buffer): ParsedObject[] {
  try {
    return parseManifestFile(`kustomize build ${describe(overlay)}`, output);
  } catch (cause) {
    const message = cause instanceof RenderError ? cause.message : messageOf(cause);
    throw new KustomizeError("output-invalid", overlay, `${describe(overlay)}: cannot read the output of kustomize build: ${message}`, { cause });
  }
}

/**
 * The values of kustomize's output printed as one unquoted reference that are typed, decided by
 * how the overlay's files write them (kustomize-styles.ts), and a warning per reference written
 * both ways.
 */
function typedReferences(files: ReadonlyMap<string, Uint8Array>, inputs: readonly string[], parsed: readonly ParsedObject[]): Pick<RenderedOverlay, "unquoted" | "warnings"> {
  const textAt = (object: KubeObject, path: FieldPath): string => String(path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], object));
  const wanted = new Set(parsed.flatMap((p) => p.unquoted.map((path) => textAt(p.object, path))));
  if (wanted.size === 0) return {};
  const styles = referenceStyles(files, inputs, wanted);
  return { unquoted: parsed.map((p) => p.unquoted.filter((path) => styles.typed.has(textAt(p.object, path)))), warnings: styles.warnings };
}

/** stderr with the work folder made repository-relative, so no hub path leaks into messages. */
function clean(stderr: string, root: string): string {
  return stderr.split(`${root}/`).join("").split(root).join(".").trim();
}

/** kustomize's error, without its deprecation warnings and `Error: ` prefix, cut to a sane length. */
function kustomizeMessage(stderr: string): string {
  const text = stderr
    .split("\n")
    .filter((line) => !line.startsWith("# Warning:"))
    .join("\n")
    .replace(/^Error:\s*/, "")
    .trim();
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

type BuildResult =
  | { kind: "exited"; code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }
  | { kind: "timeout"; stderr: string }
  | { kind: "too-large"; stderr: string }
  | { kind: "memory"; stderr: string }
  | { kind: "spawn-failed"; error: Error; stderr: string };

/**
 * Runs `kustomize build` on `overlay` inside `root` with network access cut off as far as the
 * environment can: Git may use no transport at all and HTTP goes to a proxy that refuses. Go never
 * proxies loopback addresses, so the walk's refusal of every URL is what keeps the hub's own
 * loopback services out of reach; this is the second line. Memory and time are capped.
 */
function runBuild(request: {
  binary: string;
  root: string;
  overlay: string;
  timeoutMs: number;
  maxOutputBytes: number;
  maxMemoryBytes: number;
  signal: AbortSignal;
}): Promise<BuildResult> {
  return new Promise((resolve) => {
    // "./" keeps a folder named like a flag from being read as one.
    const target = request.overlay === "" ? "." : `./${request.overlay}`;
    const child = spawn(request.binary, ["build", target, "--load-restrictor", "LoadRestrictionsRootOnly"], {
      cwd: request.root,
      env: sandboxEnv(request.root, request.maxMemoryBytes),
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so a kill also reaches anything it started (which would otherwise
      // hold the output pipes open).
      detached: true,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = "";
    let outcome: "timeout" | "too-large" | "memory" | "aborted" | undefined;
    const stop = (why: "timeout" | "too-large" | "memory" | "aborted"): void => {
      outcome ??= why;
      killGroup(child);
    };
    const timer = setTimeout(() => stop("timeout"), request.timeoutMs);
    const unwatch = child.pid === undefined ? () => undefined : watchMemory({ pid: child.pid, limitBytes: request.maxMemoryBytes, onExceeded: () => stop("memory") });
    const onAbort = (): void => stop("aborted");
    request.signal.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.byteLength;
      if (stdoutBytes > request.maxOutputBytes) stop("too-large");
      else stdout.push(chunk);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.slice(0, MAX_STDERR - stderr.length);
    });
    let spawnError: Error | undefined;
    child.once("error", (err) => {
      spawnError = err;
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      unwatch();
      request.signal.removeEventListener("abort", onAbort);
      if (outcome === "timeout") resolve({ kind: "timeout", stderr });
      else if (outcome === "too-large") resolve({ kind: "too-large", stderr });
      else if (outcome === "memory") resolve({ kind: "memory", stderr });
      else if (spawnError !== undefined) resolve({ kind: "spawn-failed", error: spawnError, stderr });
      // An abort (close()) ends here too; the caller checks its own flag first.
      else resolve({ kind: "exited", code, signal, stdout: Buffer.concat(stdout), stderr });
    });
  });
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    // The group is gone already, or was never made: kill the child alone.
    child.kill("SIGKILL");
  }
}

/** The build's environment: nothing of the hub's own but PATH and TMPDIR, and no way out to the network. */
function sandboxEnv(root: string, maxMemoryBytes: number): NodeJS.ProcessEnv {
  // A loopback port nothing listens on: every proxied request is refused at once.
  const refuse = "http://127.0.0.1:9";
  const env: NodeJS.ProcessEnv = {
    // Outside the commit tree, which other builds share.
    HOME: dirname(root),
    HTTP_PROXY: refuse,
    HTTPS_PROXY: refuse,
    http_proxy: refuse,
    https_proxy: refuse,
    NO_PROXY: "",
    // The garbage collector's goal, below the hard cap the hub enforces, so a big but sane build
    // collects harder instead of being killed.
    GOMEMLIMIT: String(Math.floor(maxMemoryBytes * 0.75)),
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "protocol.allow",
    GIT_CONFIG_VALUE_0: "never",
  };
  for (const name of ["PATH", "TMPDIR"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Runs at most `limit` tasks at once, the rest in arrival order. */
function createGate(limit: number): { run<T>(task: () => Promise<T>): Promise<T> } {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async run(task) {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next !== undefined) next();
        else active--;
      }
    },
  };
}
