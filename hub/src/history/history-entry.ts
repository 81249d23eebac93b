// One entry of a cluster's history: a revision the cluster reached, when, the digest of each of
// its bundles (and since when it has run that digest), and what the commit says about itself.
// Pure: the same statuses always give the same entry, on every hub replica.
import { createHash } from "node:crypto";
import { timestampDate, type StatusReport } from "@gitfleet/proto";
import { trailer, type CommitInfo } from "../delivery/index.js";

/** The trailer that names the promotion a commit made. */
export const PROMOTION_TRAILER = "Gitfleet-Promotion";

/** A bundle as the cluster ran it in an entry. */
export interface HistoryBundle {
  name: string;
  digest: string;
  /** When the cluster reached this digest (ISO): an earlier entry's time when the digest did not change. */
  since: string;
}

/** A revision a cluster reached. */
export interface HistoryEntry {
  /** The commit the cluster's desired state came from. */
  revision: string;
  /** When the agent reported it (ISO). */
  reachedAt: string;
  bundles: HistoryBundle[];
  /** The commit's subject and author, when the hub fetched the commit (shallow fetches skip some). */
  subject?: string;
  author?: string;
  email?: string;
  /** The commit's author date (ISO). */
  committedAt?: string;
  /** The promotion that made the commit (its `Gitfleet-Promotion` trailer). */
  promotion?: string;
}

/**
 * The entry a cluster's status means, or undefined when the cluster reports no revision yet or
 * still runs what `previous` recorded (same revision, same digests). `now` bounds the agent's
 * clock: a report dated in the future counts as made now.
 */
export function nextEntry(input: { previous: HistoryEntry | undefined; report: StatusReport; info: CommitInfo | undefined; now: Date }): HistoryEntry | undefined {
  const { previous, report, info } = input;
  const revision = report.observedRevision;
  if (revision === "") return undefined;
  const digests = report.bundles.map((b) => ({ name: b.name, digest: b.digest })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (previous?.revision === revision && sameDigests(previous.bundles, digests)) return undefined;
  const reported = report.reportedAt ? timestampDate(report.reportedAt).getTime() : Number.POSITIVE_INFINITY;
  const reachedAt = new Date(Math.min(reported, input.now.getTime())).toISOString();
  const before = new Map((previous?.bundles ?? []).map((b) => [b.name, b]));
  return {
    revision,
    reachedAt,
    bundles: digests.map(({ name, digest }) => {
      const was = before.get(name);
      return { name, digest, since: was?.digest === digest ? was.since : reachedAt };
    }),
    ...(info ? commitFields(info) : {}),
  };
}

/** The entry with the commit's metadata added (an entry first made without it). */
export function withCommit(entry: HistoryEntry, info: CommitInfo | undefined): HistoryEntry {
  return info ? { ...entry, ...commitFields(info) } : entry;
}

function commitFields(info: CommitInfo): Pick<HistoryEntry, "subject" | "author" | "email" | "committedAt" | "promotion"> {
  const promotion = trailer(info, PROMOTION_TRAILER);
  return { subject: info.subject, author: info.author, email: info.email, committedAt: info.time, ...(promotion ? { promotion } : {}) };
}

/**
 * The message id of an entry: the cluster, the revision and a hash of the digests, so every
 * replica that records the same transition stores one entry.
 */
export function entryId(clusterId: string, entry: Pick<HistoryEntry, "revision" | "bundles">): string {
  const digests = createHash("sha256")
    .update(entry.bundles.map((b) => `${b.name}=${b.digest}`).join("\n"))
    .digest("hex")
    .slice(0, 16);
  return `${clusterId}.${entry.revision}.${digests}`;
}

function sameDigests(a: readonly { name: string; digest: string }[], b: readonly { name: string; digest: string }[]): boolean {
  return a.length === b.length && a.every((x, i) => x.name === b[i]?.name && x.digest === b[i]?.digest);
}
