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
  /** Removes every key of a cluster (pointer and chunks); for a deleted cluster. */
  purge(clusterId: string): Promise<void>;
  /** The cluster's current pointer, or undefined when it has none. */
  current(clusterId: string): Promise<DesiredState | undefined>;
}

interface Pointer {
  /** KV revision of the pointer entry; the compare-and-set expects it. */
  revision: number;
  state: DesiredState | undefined;
}

const ATTEMPTS = 3;
const ENCODED_CACHE = 64;

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
  const encoded = new Map<string, Promise<EncodedPayload>>();

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

  const encode = (bundle: ResolvedBundle): Promise<EncodedPayload> => {
    let pending = encoded.get(bundle.digest);
    if (pending === undefined) {
      pending = encodeBundlePayload(bundle.payload, { maxChunkBytes: options.maxChunkBytes });
      encoded.set(bundle.digest, pending);
      void pending.catch(() => encoded.delete(bundle.digest));
      for (const key of encoded.keys()) {
        if (encoded.size <= ENCODED_CACHE) break;
        encoded.delete(key);
      }
    }
    return pending;
  };

  const writeChunks = async (clusterId: string, commit: string, bundle: ResolvedBundle): Promise<BundleRef> => {
    const payload = await encode(bundle);
    if (payload.digest !== bundle.digest) {
      throw new PayloadError("digest_mismatch", `bundle ${bundle.name} encodes to digest ${payload.digest}, resolved as ${bundle.digest}`);
    }
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

  const publishOnce = async (commit: string, resolution: ClusterResolution): Promise<PublishOutcome | undefined> => {
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
    await removeChunks(clusterId, plan.stale);
    return { published: true, generation: next.generation, written: written.map((ref) => ref.name), removed: plan.stale.map((ref) => ref.name) };
  };

  return {
    async publish(commit, resolution) {
      try {
        for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
          const outcome = await publishOnce(commit, resolution);
          if (outcome !== undefined) return outcome;
        }
      } catch (err) {
        pointers.delete(resolution.clusterId);
        throw new PublishError(resolution.clusterId, `cannot publish desired state of cluster ${resolution.clusterId}: ${messageOf(err)}`, { cause: err });
      }
      throw new PublishError(resolution.clusterId, `cannot publish desired state of cluster ${resolution.clusterId}: the pointer kept changing under ${ATTEMPTS} attempts`);
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
