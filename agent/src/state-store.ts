// The last complete desired state, kept in a Secret so a restarted agent keeps enforcing it
// while NATS or the hub is away.
import { gunzipSync, gzipSync } from "node:zlib";
import type { Logger } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { everywhere } from "./desired-state.js";
import type { DesiredBundle, DesiredStateSnapshot, IgnoreRule } from "./desired-state.js";
import type { KubeClient } from "./kube-client.js";
import { asRecord, asString, parseKubeObject } from "./kube-objects.js";
import { readSecret, writeSecret } from "./secrets.js";

/** Name of the Secret that holds the last desired state. */
export const STATE_SECRET = "gitfleet-agent-state";

/** Largest compressed state kept; a Secret holds at most 1 MiB in all. */
export const MAX_STATE_BYTES = 900 * 1024;

/** Where the last desired state is kept. */
export interface StateStore {
  /** The stored state; undefined when none or unreadable (logged). */
  load(): Promise<DesiredStateSnapshot | undefined>;
  /** Stores the state; false when it was too large to keep. */
  save(state: DesiredStateSnapshot): Promise<boolean>;
}

/** Options of {@link createSecretStateStore}. */
export interface SecretStateStoreOptions {
  kube: KubeClient;
  namespace: string;
  logger: Logger;
  name?: string;
  /** Override of {@link MAX_STATE_BYTES}. */
  maxBytes?: number;
}

/** Encodes a state as gzipped JSON. */
export function encodeState(state: DesiredStateSnapshot): Buffer {
  return gzipSync(JSON.stringify({ version: 1, ...state, generation: state.generation.toString() }));
}

/** Decodes {@link encodeState}'s output; throws an Error saying what is wrong. */
export function decodeState(bytes: Buffer): DesiredStateSnapshot {
  const record = asRecord(JSON.parse(gunzipSync(bytes).toString("utf8")));
  if (record?.["version"] !== 1) throw new Error("unknown state version");
  const bundles = record["bundles"];
  if (!Array.isArray(bundles)) throw new Error("bundles is not a list");
  return {
    revision: asString(record["revision"]),
    generation: BigInt(asString(record["generation"], "0")),
    kvRevision: Number(record["kvRevision"]) || 0,
    publishedAt: asString(record["publishedAt"]),
    bundles: bundles.map(decodeBundle),
  };
}

function decodeBundle(value: unknown): DesiredBundle {
  const b = asRecord(value);
  const policy = asRecord(b?.["policy"]);
  if (!b || typeof b["name"] !== "string" || typeof b["digest"] !== "string") throw new Error("a bundle lacks name or digest");
  const objects = Array.isArray(b["objects"]) ? b["objects"].map(parseKubeObject) : [];
  return {
    name: b["name"],
    digest: b["digest"],
    revision: asString(b["revision"]),
    stage: asString(b["stage"]),
    policy: {
      prune: policy?.["prune"] === true,
      namespace: asString(policy?.["namespace"]),
      drift: policy?.["drift"] === "report" ? "report" : "correct",
      ignore: Array.isArray(policy?.["ignore"]) ? policy["ignore"].map(decodeIgnoreRule) : [],
    },
    objects,
    ...(typeof b["error"] === "string" ? { error: b["error"] } : {}),
  };
}

// A state written before rules had a scope holds bare JSON pointers.
function decodeIgnoreRule(value: unknown): IgnoreRule {
  if (typeof value === "string") return everywhere(value);
  const rule = asRecord(value);
  if (!rule || typeof rule["path"] !== "string") throw new Error("an ignore rule lacks its path");
  return {
    path: rule["path"],
    group: asString(rule["group"]),
    kind: asString(rule["kind"]),
    namespace: asString(rule["namespace"]),
    name: asString(rule["name"]),
  };
}

/** Keeps the state gzipped in a Secret `gitfleet-agent-state` (key `state.json.gz`). */
export function createSecretStateStore(options: SecretStateStoreOptions): StateStore {
  const name = options.name ?? STATE_SECRET;
  const maxBytes = options.maxBytes ?? MAX_STATE_BYTES;
  return {
    async load() {
      try {
        const raw = (await readSecret(options.kube, options.namespace, name))?.get("state.json.gz");
        return raw ? decodeState(raw) : undefined;
      } catch (error) {
        options.logger.warn({ err: error }, `ignoring the stored desired state: ${messageOf(error)}`);
        return undefined;
      }
    },
    async save(state) {
      const bytes = encodeState(state);
      if (bytes.byteLength > maxBytes) {
        options.logger.warn(
          { bytes: bytes.byteLength, limit: maxBytes, revision: state.revision },
          "desired state too large to keep in a Secret; after a restart the agent waits for NATS",
        );
        // An older state left behind would be enforced after a restart, undoing newer changes.
        await writeSecret(options.kube, { namespace: options.namespace, name, data: { "skipped-revision": state.revision } });
        return false;
      }
      await writeSecret(options.kube, { namespace: options.namespace, name, data: { "state.json.gz": bytes } });
      return true;
    },
  };
}
