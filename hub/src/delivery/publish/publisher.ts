// Writing a cluster's desired state into JetStream KV (docs/protocol.md): the chunks of every
// new payload first, the DesiredState pointer last (compare-and-set on its revision), then the
// chunks the old pointer named and the new one does not (best effort).
import {
  BundleRefSchema,
  DesiredStateSchema,
  PayloadError,
  create,
  encodeBundlePayload,
  fromBinary,
  timestampFromDate,
  type BundleRef,
  type DesiredState,
  type EncodedPayload,
} from "@gitfleet/proto";
import { messageOf } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import { isRevisionConflict } from "../../store/buckets.js";
import { chunkKey, chunkPrefix, keySubject, pointerKey, type DesiredBucket } from "./desired-keys.js";
import { planPointer } from "./desired-plan.js";
import { PublishError } from "../errors.js";
import type { ClusterResolution, ResolvedBundle } from "../resolution.js";
import { compareCodeUnits } from "../snapshot.js";
import type { DesiredStateSigner } from "../../signing/index.js";

/** Where published state came from, for DesiredState.source. */
export interface SourceInfo {
  readonly repository: string;
  readonly branch: string;
}

/** Options of {@link createPublisher}. */
export interface PublisherOptions {
  readonly bucket: DesiredBucket;
  readonly source: SourceInfo;
  readonly logger: Logger;
  /** Signs every pointer for its cluster with the hub's active desired-state key. */
  readonly signer: DesiredStateSigner;
  /** Largest chunk; default the wire default (512 KiB). */
  readonly maxChunkBytes?: number | undefined;
  /** The clock for published_at; default the system clock. */
  readonly now?: (() => Date) | undefined;
  /**
   * The delivery leader lease: each pointer carries its term (leader_term), none is written
   * without one, and a pointer of a higher term is never overwritten. Without it pointers carry
   * term 0 and are written unconditionally (a single hub, tests).
   */
  readonly fence?: PublishFence | undefined;
}

/** What the publisher asks the delivery leader lease before each pointer it writes. */
export interface PublishFence {
  /** The term this replica leads under now, or undefined when it does not (or no longer) lead. */
  term(): number | undefined;
  /** A pointer of a higher term was found: this replica was deposed and must step down. */
  deposed(pointerTerm: number, clusterId: string): void;
}

/** What {@link Publisher.publish} did for one cluster. */
export type PublishOutcome =
  | { readonly published: true; readonly generation: bigint; readonly written: readonly string[]; readonly removed: readonly string[] }
  | { readonly published: false; readonly generation: bigint };

/** Publishes per-cluster desired state; see {@link createPublisher}. */
export interface Publisher {
  /**
   * Publishes `resolution` at `commit` for its cluster, unless the set of (bundle, digest) is
   * unchanged. Failed bundles keep their last good ref. Throws {@link PublishError}.
   */
  publish(commit: string, resolution: ClusterResolution): Promise<PublishOutcome>;
  /**
   * Publishes many clusters at `commit`, `concurrency` at a time: every pointer first, then the
   * chunks they no longer name, so the last pointer is not held up by clean-up of the first.
   * Tells `onResult` each cluster's outcome or PublishError as its pointer is written; resolves
   * once the clean-up is done too. Never rejects.
   */
  publishAll(commit: string, resolutions: Iterable<ClusterResolution>, options?: PublishAllOptions): Promise<void>;
  /** Removes every key of a cluster (pointer and chunks); for a deleted cluster. */
  purge(clusterId: string): Promise<void>;
  /** The cluster's current pointer, or undefined when it has none. */
  current(clusterId: string): Promise<DesiredState | undefined>;
}

/** Options of {@link Publisher.publishAll}. */
export interface PublishAllOptions {
  /** Clusters published at once; default {@link DEFAULT_PUBLISH_CONCURRENCY}. */
  readonly concurrency?: number | undefined;
  /** Called once per cluster, when its pointer is written (or its publish failed). */
  readonly onResult?: ((clusterId: string, result: PublishOutcome | PublishError, seconds: number) => void) | undefined;
}

/**
 * Clusters published at once by default. Each publish is a few round trips to JetStream (chunks,
 * then the pointer), so the fan-out is bound by how many are in flight, not by the hub's CPU.
 */
export const DEFAULT_PUBLISH_CONCURRENCY = 32;

interface Pointer {
  /** KV revision of the pointer entry; the compare-and-set expects it. */
  revision: number;
  state: DesiredState | undefined;
}

const ATTEMPTS = 3;
const ENCODED_CACHE = 64;
const ENCODED_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Creates a publisher over an opened bucket. It remembers each cluster's last pointer to skip
 * unchanged clusters without a read; a write that loses a race with another hub replica reads
 * the pointer again and retries.
 */
export function createPublisher(options: PublisherOptions): Publisher {
  const { kv, jsm } = options.bucket;
  const now = options.now ?? (() => new Date());
  const pointers = new Map<string, Pointer>();
  // Clusters with the same payload share one encoding (gzip is the expensive part).
  const encoded = new Map<string, { payload: Promise<EncodedPayload>; bytes: number }>();

  const load = async (clusterId: string): Promise<Pointer> => {
    const known = pointers.get(clusterId);
    if (known !== undefined) return known;
    const entry = await kv.get(pointerKey(clusterId));
    if (entry === null || entry.operation !== "PUT") return { revision: entry?.revision ?? 0, state: undefined };
    try {
      return { revision: entry.revision, state: fromBinary(DesiredStateSchema, entry.value) };
    } catch (err) {
      options.logger.error({ cluster: clusterId, err }, "desired state pointer is corrupt; replacing it");
      // Generations never exceed the pointer's stream sequence, so it is a safe base to count on.
      return { revision: entry.revision, state: create(DesiredStateSchema, { generation: BigInt(entry.revision) }) };
    }
  };

  // The cache is bounded by ENCODED_CACHE entries and ENCODED_CACHE_BYTES of compressed bytes (of
  // encodings that finished): per-cluster payloads of several MB each would otherwise keep 64 alive.
  let cachedBytes = 0;
  const forget = (digest: string): void => {
    cachedBytes -= encoded.get(digest)?.bytes ?? 0;
    encoded.delete(digest);
  };
  const evict = (): void => {
    for (const key of encoded.keys()) {
      if (encoded.size <= ENCODED_CACHE && cachedBytes <= ENCODED_CACHE_BYTES) break;
      forget(key);
    }
  };
  const encode = (bundle: ResolvedBundle): Promise<EncodedPayload> => {
    const cached = encoded.get(bundle.digest);
    if (cached !== undefined) return cached.payload;
    const entry = { payload: encodeBundlePayload(bundle.payload, { maxChunkBytes: options.maxChunkBytes }), bytes: 0 };
    encoded.set(bundle.digest, entry);
    entry.payload.then(
      (payload) => {
        if (encoded.get(bundle.digest) !== entry) return;
        entry.bytes = payload.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
        cachedBytes += entry.bytes;
        evict();
      },
      () => {
        if (encoded.get(bundle.digest) === entry) forget(bundle.digest);
      },
    );
    evict();
    return entry.payload;
  };

  const writeChunks = async (clusterId: string, commit: string, bundle: ResolvedBundle): Promise<BundleRef> => {
    const payload = await encode(bundle);
    if (payload.digest !== bundle.digest) {
      throw new PayloadError("digest_mismatch", `bundle ${bundle.name} encodes to digest ${payload.digest}, resolved as ${bundle.digest}`);
    }
    // One chunk at a time: with many clusters in flight, a bundle of many chunks would otherwise
    // put all of them in the client's buffer at once.
    for (const [index, part] of payload.chunks.entries()) await kv.put(chunkKey(clusterId, bundle.name, bundle.digest, index), part);
    return create(BundleRefSchema, {
      name: bundle.name,
      digest: bundle.digest,
      chunks: payload.chunks.length,
      size: BigInt(payload.size),
      revision: commit,
    });
  };

  const removeChunks = async (clusterId: string, refs: readonly BundleRef[]): Promise<void> => {
    for (const ref of refs) {
      try {
        // A stream purge by subject leaves no delete markers behind, unlike KV purge per key.
        await jsm.streams.purge(options.bucket.stream, { filter: keySubject(options.bucket.bucket, `${chunkPrefix(clusterId, ref.name, ref.digest)}.>`) });
      } catch (err) {
        options.logger.warn({ cluster: clusterId, bundle: ref.name, digest: ref.digest, err }, "could not remove superseded chunks");
      }
    }
  };

  // The term to write under; throws when this replica may not write over `current`.
  const fencedTerm = (clusterId: string, current: DesiredState | undefined): bigint => {
    const fence = options.fence;
    if (fence === undefined) return 0n;
    const term = fence.term();
    if (term === undefined) throw new PublishError(clusterId, `not publishing desired state of cluster ${clusterId}: this hub replica is not the delivery leader`);
    if (current !== undefined && current.leaderTerm > BigInt(term)) {
      options.logger.error({ cluster: clusterId, term, pointerTerm: current.leaderTerm.toString() }, "refusing to overwrite a pointer of a newer delivery leader; stepping down");
      fence.deposed(Number(current.leaderTerm), clusterId);
      throw new PublishError(clusterId, `not publishing desired state of cluster ${clusterId}: its pointer was written under leader term ${current.leaderTerm}, newer than this replica's ${term}`);
    }
    return BigInt(term);
  };

  // `removeLater` takes the superseded chunks once the pointer no longer names them; by default
  // they are removed before the publish returns.
  type Removal = (clusterId: string, refs: readonly BundleRef[]) => Promise<void>;
  const publishOnce = async (commit: string, resolution: ClusterResolution, removeLater: Removal): Promise<PublishOutcome | undefined> => {
    const { clusterId } = resolution;
    const pointer = await load(clusterId);
    const current = pointer.state;
    const plan = planPointer(current, resolution);
    const generation = current?.generation ?? 0n;
    if (plan.unchanged) return { published: false, generation };
    fencedTerm(clusterId, current);
    const written: BundleRef[] = [];
    for (const bundle of plan.write) written.push(await writeChunks(clusterId, commit, bundle));
    // Checked again after the chunks: the lease may have run out meanwhile.
    const leaderTerm = fencedTerm(clusterId, current);
    const next = create(DesiredStateSchema, {
      revision: commit,
      generation: generation + 1n,
      leaderTerm,
      bundles: [...plan.keep, ...written].sort((a, b) => compareCodeUnits(a.name, b.name)),
      publishedAt: timestampFromDate(now()),
      source: { repository: options.source.repository, branch: options.source.branch, commit },
    });
    const bytes = options.signer.encode(next, clusterId);
    let revision: number;
    try {
      revision = pointer.revision === 0 ? await kv.create(pointerKey(clusterId), bytes) : await kv.update(pointerKey(clusterId), bytes, pointer.revision);
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
      pointers.delete(clusterId);
      options.logger.info({ cluster: clusterId }, "desired state changed under us; reading it again");
      return undefined;
    }
    pointers.set(clusterId, { revision, state: next });
    if (plan.stale.length > 0) await removeLater(clusterId, plan.stale);
    return { published: true, generation: next.generation, written: written.map((ref) => ref.name), removed: plan.stale.map((ref) => ref.name) };
  };

  const publishWith = async (commit: string, resolution: ClusterResolution, removeLater: Removal): Promise<PublishOutcome> => {
    try {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const outcome = await publishOnce(commit, resolution, removeLater);
        if (outcome !== undefined) return outcome;
      }
    } catch (err) {
      pointers.delete(resolution.clusterId);
      throw new PublishError(resolution.clusterId, `cannot publish desired state of cluster ${resolution.clusterId}: ${messageOf(err)}`, { cause: err });
    }
    throw new PublishError(resolution.clusterId, `cannot publish desired state of cluster ${resolution.clusterId}: the pointer kept changing under ${ATTEMPTS} attempts`);
  };

  return {
    publish: (commit, resolution) => publishWith(commit, resolution, removeChunks),

    async publishAll(commit, resolutions, all = {}) {
      const concurrency = Math.max(1, all.concurrency ?? DEFAULT_PUBLISH_CONCURRENCY);
      const superseded: Array<[string, readonly BundleRef[]]> = [];
      const later: Removal = (clusterId, refs) => {
        superseded.push([clusterId, refs]);
        return Promise.resolve();
      };
      await forEachLimit([...resolutions], concurrency, async (resolution) => {
        const started = performance.now();
        let result: PublishOutcome | PublishError;
        try {
          result = await publishWith(commit, resolution, later);
        } catch (err) {
          result = err instanceof PublishError ? err : new PublishError(resolution.clusterId, messageOf(err), { cause: err });
        }
        all.onResult?.(resolution.clusterId, result, (performance.now() - started) / 1000);
      });
      // Each cluster is published once per call and calls are not run side by side (delivery
      // applies one commit at a time), so no pointer written after this point names these chunks.
      await forEachLimit(superseded, concurrency, ([clusterId, refs]) => removeChunks(clusterId, refs));
    },

    async purge(clusterId) {
      pointers.delete(clusterId);
      try {
        const key = pointerKey(clusterId); // validates the id before it becomes a subject filter
        await jsm.streams.purge(options.bucket.stream, { filter: keySubject(options.bucket.bucket, `${clusterId}.bundles.>`) });
        // A KV purge for the pointer, so a watcher of it sees it go.
        await kv.purge(key);
      } catch (err) {
        throw new PublishError(clusterId, `cannot remove the desired state of cluster ${clusterId}: ${messageOf(err)}`, { cause: err });
      }
    },

    async current(clusterId) {
      const entry = await kv.get(pointerKey(clusterId));
      if (entry === null || entry.operation !== "PUT") return undefined;
      return fromBinary(DesiredStateSchema, entry.value);
    },
  };
}

/** Runs `task` over `items`, at most `limit` at a time, in order of start. */
async function forEachLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
