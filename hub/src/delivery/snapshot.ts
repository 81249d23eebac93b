// What the resolver reads: the files of one commit, in memory. Kept apart from the Git source
// so the pure parts (fleet file, rendering, resolving) never touch I/O.

/** The files of one commit of the fleet repository. */
export interface Snapshot {
  /** The commit sha (40 hex). */
  readonly commit: string;
  /** Every regular file at that commit: repository-relative path ("a/b.yaml") -> content. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Who made the commit and why; absent when it could not be read (or for a working tree). */
  readonly info?: CommitInfo | undefined;
}

/** What a commit says about itself: for history, and to tell promotions' commits apart. */
export interface CommitInfo {
  /** The first line of the message. */
  readonly subject: string;
  /** The author's name and email. */
  readonly author: string;
  readonly email: string;
  /** The author date (ISO). */
  readonly time: string;
  /** The trailers of the message's last paragraph, e.g. `Gitfleet-Promotion` -> the promotion id. */
  readonly trailers: Readonly<Record<string, string>>;
  /** The parent commits, first parent first. */
  readonly parents: readonly string[];
}

/** A cluster as the delivery part sees it: its id (the key space), its name, labels and variables. */
export interface ClusterRef {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Variables set on the cluster record; they override a target's variables of the same name. */
  readonly variables?: Readonly<Record<string, string>> | undefined;
}

/**
 * Normalises a repository-relative folder path: strips "./" and trailing "/", and maps "." to "".
 * Returns undefined for paths that are absolute or climb out of the repository.
 */
export function normalizeFolder(path: string): string | undefined {
  if (path.startsWith("/") || path.includes("\\")) return undefined;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") return undefined;
    parts.push(part);
  }
  return parts.join("/");
}

/** The paths of `files` inside `folder` ("" is the root), at any depth, sorted by code unit. */
export function filesUnder(files: ReadonlyMap<string, Uint8Array>, folder: string): string[] {
  const prefix = folder === "" ? "" : `${folder}/`;
  const paths: string[] = [];
  for (const path of files.keys()) if (path.startsWith(prefix)) paths.push(path);
  return paths.sort(compareCodeUnits);
}

/** Orders strings by UTF-16 code units, independent of locale, so output is deterministic everywhere. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
