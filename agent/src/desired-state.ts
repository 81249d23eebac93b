// A cluster's desired state as the agent holds it, and how it is assembled from the JetStream
// keys the hub writes: the `<prefix>.desired` pointer, then every chunk of every bundle it names.
import { DesiredStateSchema, DriftMode, PayloadError, decodeBundlePayload, fromBinary, timestampDate } from "@gitfleet/proto";
import type { BundlePolicy, BundleRef, DesiredState } from "@gitfleet/proto";
import { dnsLabelProblem, messageOf } from "@gitfleet/proto/rules";
import type { PointerRefusal } from "./desired-trust.js";
import { AgentError } from "./errors.js";
import { parseKubeObject } from "./kube-objects.js";
import type { KubeObject } from "./kube-objects.js";

/** A bundle's options from fleet.yaml, as the agent uses them. */
export interface BundlePolicyView {
  /** Delete objects that left the bundle (only those in its inventory). */
  prune: boolean;
  /** Namespace for namespaced objects that name none; "" means "default". */
  namespace: string;
  drift: "correct" | "report";
  /** Fields drift detection and correction leave alone (fleet.yaml `ignore`). */
  ignore: IgnoreRule[];
}

/**
 * A field that is neither reported as drift nor corrected, on the objects the rule's scope
 * matches. An empty scope field matches any object ("" group is any group, not only core).
 */
export interface IgnoreRule {
  /** JSON pointer (RFC 6901); the field and everything under it. A "*" segment matches any key or list index. */
  path: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** An unscoped rule: `path` on every object. */
export function everywhere(path: string): IgnoreRule {
  return { path, group: "", kind: "", namespace: "", name: "" };
}

/** One bundle of the desired state, decoded and verified. */
export interface DesiredBundle {
  name: string;
  /** sha256 of the encoded payload, as named by the pointer and verified. */
  digest: string;
  /** Commit at which the bundle's content last changed. */
  revision: string;
  stage: string;
  policy: BundlePolicyView;
  objects: KubeObject[];
  /** Set when the bundle cannot be applied as published; the reconciler marks it FAILED. */
  error?: string;
}

/** A complete desired state: every bundle the pointer names, fetched and verified. */
export interface DesiredStateSnapshot {
  /** Git commit the state was resolved from. */
  revision: string;
  /** The hub's publish counter for this cluster. */
  generation: bigint;
  /** KV revision of the pointer entry it came from; 0 when unknown. */
  kvRevision: number;
  bundles: DesiredBundle[];
  /** When the hub published it (ISO 8601), "" when not stated. */
  publishedAt: string;
  /**
   * Set when the pointer failed the agent's check (signature, key, generation): nothing was
   * fetched, `bundles` is empty, and the agent keeps enforcing what it held.
   */
  refused?: PointerRefusal;
}

/** Reads one key of the cluster's key space; undefined when the key does not exist. */
export interface ChunkReader {
  get(key: string): Promise<Uint8Array | undefined>;
}

/** Options of {@link loadDesiredState}. */
export interface LoadDesiredStateOptions {
  /** The value of `<keyPrefix>.desired`: an encoded DesiredState. */
  pointer: Uint8Array;
  kvRevision: number;
  keyPrefix: string;
  reader: ChunkReader;
  /** The state held so far; bundles whose digest did not change are reused, not fetched. */
  previous?: DesiredStateSnapshot | undefined;
  /** Largest uncompressed bundle accepted; default 64 MiB. */
  maxBundleBytes?: number;
  /**
   * Checks the decoded pointer (and its bytes as received) before any bundle is fetched; a
   * refusal comes back as a snapshot with `refused` set. The agent always passes one
   * (desired-trust.ts); without it nothing is checked.
   */
  verify?: ((pointer: DesiredState, encoded: Uint8Array) => PointerRefusal | undefined) | undefined;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The key of chunk `index` of a bundle payload, as the protocol fixes it. */
export function bundleChunkKey(keyPrefix: string, bundle: string, digest: string, index: number): string {
  return `${keyPrefix}.bundles.${bundle}.${digest}.${index}`;
}

/**
 * Decodes a pointer and fetches, joins, inflates and verifies every bundle it names.
 * A bundle that is malformed as published (bad name, digest mismatch, an object that is not a
 * Kubernetes object) comes back with `error` set, so other bundles still apply. Throws an
 * {@link AgentError} when the pointer itself is unreadable ("desired-state-invalid") or a chunk
 * cannot be read now ("desired-state-unavailable"); the caller retries later.
 */
export async function loadDesiredState(options: LoadDesiredStateOptions): Promise<DesiredStateSnapshot> {
  let pointer: DesiredState;
  try {
    pointer = fromBinary(DesiredStateSchema, options.pointer);
  } catch (error) {
    throw new AgentError("desired-state-invalid", `${options.keyPrefix}.desired is not a DesiredState: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const refused = options.verify?.(pointer, options.pointer);
  if (refused) {
    return { revision: pointer.revision, generation: pointer.generation, kvRevision: options.kvRevision, bundles: [], publishedAt: "", refused };
  }
  // Checked before any chunk is read: a time no Date can hold would otherwise throw a RangeError.
  const publishedAt = pointer.publishedAt ? timestampDate(pointer.publishedAt) : undefined;
  if (publishedAt !== undefined && Number.isNaN(publishedAt.getTime())) {
    throw new AgentError("desired-state-invalid", `${options.keyPrefix}.desired has published_at ${pointer.publishedAt?.seconds ?? 0n} s, outside the range of a date; the hub must not publish it`);
  }
  const previous = new Map((options.previous?.bundles ?? []).map((b) => [b.name, b]));
  const seen = new Set<string>();
  const bundles: DesiredBundle[] = [];
  for (const ref of pointer.bundles) {
    const base = baseBundle(ref);
    const problem = checkRef(ref, seen, options.maxBundleBytes ?? 64 * 1024 * 1024);
    seen.add(ref.name);
    if (problem) {
      bundles.push({ ...base, error: problem });
      continue;
    }
    const known = previous.get(ref.name);
    if (known && known.digest === ref.digest && !known.error) {
      bundles.push({ ...base, policy: known.policy, objects: known.objects });
      continue;
    }
    bundles.push(await fetchBundle(ref, base, options));
  }
  return {
    revision: pointer.revision,
    generation: pointer.generation,
    kvRevision: options.kvRevision,
    bundles,
    publishedAt: publishedAt ? publishedAt.toISOString() : "",
  };
}

function baseBundle(ref: BundleRef): DesiredBundle {
  return {
    name: ref.name,
    digest: ref.digest,
    revision: ref.revision,
    stage: ref.stage,
    policy: { prune: false, namespace: "", drift: "correct", ignore: [] },
    objects: [],
  };
}

function checkRef(ref: BundleRef, seen: ReadonlySet<string>, maxBytes: number): string | undefined {
  const nameProblem = dnsLabelProblem(ref.name);
  if (nameProblem !== undefined) return `bundle name "${ref.name}" is not a DNS label: it ${nameProblem}; the hub must not publish it`;
  if (seen.has(ref.name)) return `bundle ${ref.name} is listed twice in the desired state`;
  if (!SHA256_HEX.test(ref.digest)) return `bundle ${ref.name} has digest "${ref.digest}", not a sha256 in hex`;
  if (ref.chunks < 1) return `bundle ${ref.name} names no chunks`;
  if (ref.size > BigInt(maxBytes)) return `bundle ${ref.name} is ${ref.size} bytes, above the agent's limit of ${maxBytes}`;
  return undefined;
}

async function fetchBundle(ref: BundleRef, base: DesiredBundle, options: LoadDesiredStateOptions): Promise<DesiredBundle> {
  const chunks: Array<Uint8Array | undefined> = [];
  for (let index = 0; index < ref.chunks; index++) {
    const key = bundleChunkKey(options.keyPrefix, ref.name, ref.digest, index);
    let value: Uint8Array | undefined;
    try {
      value = await options.reader.get(key);
    } catch (error) {
      throw new AgentError("desired-state-unavailable", `cannot read ${key}: ${messageOf(error)}`, { cause: error });
    }
    if (value === undefined) {
      throw new AgentError("desired-state-unavailable", `${key} is missing (chunk ${index} of ${ref.chunks} of bundle ${ref.name})`);
    }
    chunks.push(value);
  }
  let payload;
  try {
    payload = await decodeBundlePayload({ digest: ref.digest, size: ref.size, chunkCount: ref.chunks, chunks });
  } catch (error) {
    const why = error instanceof PayloadError ? `${error.code}: ${error.message}` : messageOf(error);
    return { ...base, error: `bundle ${ref.name} payload ${ref.digest.slice(0, 12)} is unusable (${why})` };
  }
  if (payload.name !== ref.name) {
    return { ...base, error: `bundle ${ref.name} payload names itself "${payload.name}"` };
  }
  const policy: BundlePolicyView = {
    prune: payload.policy?.prune ?? false,
    namespace: payload.policy?.namespace ?? "",
    drift: payload.policy?.drift === DriftMode.REPORT ? "report" : "correct",
    ignore: ignoreRulesOf(payload.policy),
  };
  const objects: KubeObject[] = [];
  const decoder = new TextDecoder();
  for (const [index, bytes] of payload.objects.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes));
    } catch (error) {
      return { ...base, policy, error: `bundle ${ref.name}: object ${index} is not valid JSON (${messageOf(error)})` };
    }
    try {
      objects.push(parseKubeObject(value));
    } catch (error) {
      return { ...base, policy, error: `bundle ${ref.name}: object ${index} ${messageOf(error)}` };
    }
  }
  return { ...base, policy, objects };
}

// A hub that knows scoped rules sends every rule in ignore_rules (and the unscoped ones again in
// ignore, for older agents); an older hub sends only ignore.
function ignoreRulesOf(policy: BundlePolicy | undefined): IgnoreRule[] {
  if (policy === undefined) return [];
  if (policy.ignoreRules.length === 0) return policy.ignore.map(everywhere);
  return policy.ignoreRules.map(({ path, group, kind, namespace, name }) => ({ path, group, kind, namespace, name }));
}
