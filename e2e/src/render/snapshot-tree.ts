// A folder on disk as the hub's delivery sees a commit: every file by repository-relative path,
// and a snapshot whose commit id is a digest of the paths and bytes.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Snapshot } from "@gitfleet/hub/delivery";

/** Every file under `root`, keyed by its path relative to `root` with "/" separators. */
export async function readTree(root: string, dir = root, out = new Map<string, Uint8Array>()): Promise<Map<string, Uint8Array>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await readTree(root, path, out);
    else out.set(relative(root, path).split("\\").join("/"), await readFile(path));
  }
  return out;
}

/** A snapshot of `files`; the same files give the same commit id. */
export function snapshotOf(files: ReadonlyMap<string, Uint8Array>): Snapshot {
  const hash = createHash("sha1");
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`${path}\0`).update(bytes);
  return { commit: hash.digest("hex"), files };
}
