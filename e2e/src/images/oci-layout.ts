// Writes an OCI image layout (image-spec v1.1: oci-layout, index.json, blobs/sha256/...) from
// folders on disk, one gzip layer per folder. A small tar writer of our own (ustar headers, PAX
// records for long names) so that the image can be made without an engine, a daemon or root:
// every entry is owned by root unless listed in `owners`, and every timestamp is `mtime`, so
// the same folders give the same digests.
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readdir, readlink, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

/** The runtime configuration of an image (the `config` object of the image config). */
export interface ImageRuntimeConfig {
  /** "uid:gid", numeric, so a runtime can check runAsNonRoot without /etc/passwd. */
  User: string;
  Entrypoint: string[];
  Cmd?: string[];
  Env: string[];
  WorkingDir: string;
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
}

/** One layer: a folder whose contents become the layer's file tree. */
export interface LayerSource {
  dir: string;
  /** What made it, for the image's history. */
  createdBy: string;
  /** Owner uid:gid by path inside the layer ("home/nonroot"); everything else is 0:0. */
  owners?: Record<string, [number, number]>;
}

/** A layer written into a layout's blobs. */
export interface LayerBlob {
  /** Digest of the gzipped tar (the blob's name). */
  digest: string;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids). */
  diffId: string;
  /** Compressed size in bytes. */
  size: number;
  createdBy: string;
}

/** Options of {@link writeImage}. */
export interface ImageOptions {
  /** The layout's folder; its blobs folder holds the layers already. */
  layout: string;
  layers: readonly LayerBlob[];
  config: ImageRuntimeConfig;
  /** The tag recorded as org.opencontainers.image.ref.name in index.json. */
  tag: string;
  created: Date;
}

/** What {@link writeImage} wrote. */
export interface ImageResult {
  manifestDigest: string;
  configDigest: string;
  /** Compressed size of all blobs together, in bytes. */
  size: number;
}

const BLOCK = 512;

/** Writes `value` as a NUL-terminated octal number into `field` of a tar header. */
function octal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(value.toString(8).padStart(width - 1, "0") + "\0", offset, width, "ascii");
}

/** A PAX extended header record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

interface TarEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
}

/** One ustar header block for `entry`, with its path and link name cut to what fits (PAX carries them whole). */
function ustarHeader(entry: TarEntry, typeflag: string, size: number, name: string, linkname: string): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, "utf8");
  octal(header, 100, 8, entry.mode & 0o7777);
  octal(header, 108, 8, entry.uid);
  octal(header, 116, 8, entry.gid);
  octal(header, 124, 12, size);
  octal(header, 136, 12, entry.mtime);
  header.write(typeflag, 156, 1, "ascii");
  header.write(linkname, 157, 100, "utf8");
  header.write("ustar\u000000", 257, 8, "ascii");
  header.fill(" ", 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return header;
}

/** The header blocks of one entry: a PAX header first when the path or link name is too long for ustar. */
export function tarHeaders(entry: TarEntry): Buffer[] {
  const typeflag = entry.type === "file" ? "0" : entry.type === "dir" ? "5" : "2";
  const linkname = entry.linkname ?? "";
  const records: string[] = [];
  if (Buffer.byteLength(entry.path) > 100) records.push(paxRecord("path", entry.path));
  if (Buffer.byteLength(linkname) > 100) records.push(paxRecord("linkpath", linkname));
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const data = Buffer.from(records.join(""));
    blocks.push(ustarHeader({ ...entry, mode: 0o644 }, "x", data.length, "PaxHeader", ""), data, Buffer.alloc(padding(data.length)));
  }
  blocks.push(ustarHeader(entry, typeflag, entry.type === "file" ? entry.size : 0, entry.path.slice(0, 100), linkname.slice(0, 100)));
  return blocks;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Every entry under `root`, parents before children, names in byte order. */
async function walk(root: string, layer: LayerSource, mtime: number): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const info = await lstat(join(root, path));
      const [uid, gid] = layer.owners?.[path] ?? [0, 0];
      const base = { mode: info.mode, uid, gid, mtime };
      if (info.isDirectory()) {
        entries.push({ ...base, path: `${path}/`, type: "dir", size: 0 });
        await visit(path);
      } else if (info.isSymbolicLink()) {
        entries.push({ ...base, path, type: "symlink", size: 0, linkname: await readlink(join(root, path)) });
      } else if (info.isFile()) {
        entries.push({ ...base, path, type: "file", size: info.size });
      } else {
        throw new Error(`${join(root, path)}: only files, folders and symbolic links can go into an image layer`);
      }
    }
  };
  await visit("");
  return entries;
}

/** The tar stream of a folder. */
async function* tarStream(root: string, entries: readonly TarEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield* tarHeaders(entry);
    if (entry.type !== "file") continue;
    let read = 0;
    for await (const chunk of createReadStream(join(root, entry.path))) {
      read += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (read !== entry.size) throw new Error(`${join(root, entry.path)} changed while it was written into a layer`);
    yield Buffer.alloc(padding(entry.size));
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** Passes bytes through, hashing and counting them. */
class Digest extends Transform {
  readonly hash: Hash = createHash("sha256");
  size = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }
}

async function writeBlob(blobs: string, data: string): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(data);
  const hex = createHash("sha256").update(bytes).digest("hex");
  await writeFile(join(blobs, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** The blobs folder of an image layout. */
export function blobsDir(layout: string): string {
  return join(layout, "blobs", "sha256");
}

/** Tars and gzips one folder into a blob of the layout `layout`. */
export async function writeLayer(layout: string, layer: LayerSource, mtime: number): Promise<LayerBlob> {
  const blobs = blobsDir(layout);
  await mkdir(blobs, { recursive: true });
  const entries = await walk(layer.dir, layer, mtime);
  const uncompressed = new Digest();
  const compressed = new Digest();
  const temporary = join(blobs, `layer-${process.pid}.partial`);
  await pipeline(Readable.from(tarStream(layer.dir, entries)), uncompressed, createGzip({ level: 6 }), compressed, createWriteStream(temporary));
  const hex = compressed.hash.digest("hex");
  await rename(temporary, join(blobs, hex));
  return { digest: `sha256:${hex}`, diffId: `sha256:${uncompressed.hash.digest("hex")}`, size: compressed.size, createdBy: layer.createdBy };
}

/**
 * Writes the image config, the manifest, index.json and oci-layout into `layout`, whose blobs
 * folder already holds `layers`. Config and manifest blobs of an earlier image are removed.
 */
export async function writeImage(options: ImageOptions): Promise<ImageResult> {
  const blobs = blobsDir(options.layout);
  const layerHexes = new Set(options.layers.map((l) => l.digest.slice("sha256:".length)));
  for (const name of await readdir(blobs)) if (!layerHexes.has(name)) await rm(join(blobs, name), { force: true });
  const created = options.created.toISOString();
  const config = await writeBlob(
    blobs,
    JSON.stringify({
      created,
      architecture: "amd64",
      os: "linux",
      config: options.config,
      rootfs: { type: "layers", diff_ids: options.layers.map((l) => l.diffId) },
      history: options.layers.map((l) => ({ created, created_by: l.createdBy })),
    }),
  );
  const manifest = await writeBlob(
    blobs,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config.digest, size: config.size },
      layers: options.layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.size })),
      annotations: options.config.Labels,
    }),
  );
  await writeFile(join(options.layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(options.layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifest.digest,
          size: manifest.size,
          annotations: { "org.opencontainers.image.ref.name": options.tag },
          platform: { architecture: "amd64", os: "linux" },
        },
      ],
    }),
  );
  return {
    manifestDigest: manifest.digest,
    configDigest: config.digest,
    size: options.layers.reduce((sum, l) => sum + l.size, 0) + config.size + manifest.size,
  };
}
