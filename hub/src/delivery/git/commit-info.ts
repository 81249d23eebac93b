// A commit's own account of itself, read from its object: subject, author, time, trailers and
// parents. The message is untrusted input: bounded, and a malformed trailer block is no block.
import type { CommitInfo } from "../snapshot.js";

/** A commit object as isomorphic-git reads it (the fields used here). */
export interface CommitObject {
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string; readonly timestamp: number; readonly timezoneOffset: number };
  readonly parent: readonly string[];
}

const maxSubject = 300;
const maxTrailerValue = 300;
const maxTrailers = 32;
const trailerLine = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$/;

/** The {@link CommitInfo} of a commit object. */
export function commitInfo(commit: CommitObject): CommitInfo {
  const message = commit.message.replace(/\r\n/g, "\n").trim();
  const subject = (message.split("\n", 1)[0] ?? "").trim();
  return {
    subject: subject.length > maxSubject ? `${subject.slice(0, maxSubject - 1)}…` : subject,
    author: commit.author.name,
    email: commit.author.email,
    time: new Date(commit.author.timestamp * 1000).toISOString(),
    trailers: parseTrailers(message),
    parents: [...commit.parent],
  };
}

/**
 * The trailers of a message, as `git interpret-trailers` sees them in the simple case: the last
 * paragraph (never the subject), when every one of its lines is `Key: value`. A key given twice
 * keeps its last value.
 */
export function parseTrailers(message: string): Record<string, string> {
  const paragraphs = message.replace(/\r\n/g, "\n").trim().split(/\n[ \t]*\n/);
  if (paragraphs.length < 2) return {};
  const lines = (paragraphs.at(-1) ?? "").split("\n");
  const trailers: Record<string, string> = {};
  for (const line of lines) {
    const match = trailerLine.exec(line.trim());
    if (!match) return {};
    const [, key = "", value = ""] = match;
    if (Object.keys(trailers).length >= maxTrailers && !Object.hasOwn(trailers, key)) continue;
    trailers[key] = value.trim().slice(0, maxTrailerValue);
  }
  return trailers;
}

/** The value of trailer `key`, matched without regard to case as Git does. */
export function trailer(info: Pick<CommitInfo, "trailers">, key: string): string | undefined {
  const wanted = key.toLowerCase();
  for (const [name, value] of Object.entries(info.trailers)) if (name.toLowerCase() === wanted) return value;
  return undefined;
}
