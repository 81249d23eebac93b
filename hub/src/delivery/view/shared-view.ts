// The delivery leader's view for its followers: one JSON document (head commit, last good commit,
// bundles, per-cluster bundle errors, source error) in the gitfleet_delivery_view bucket, gzipped
// and cut into parts below the NATS payload limit. The parts of each write go under keys of their
// own (`part.<term>.<seq>.<n>`), the `head` key names them last, and the parts of the previous
// write are purged after it: a follower reading a head always finds its parts, or the next head.
// The head is fenced by the leader term: it is replaced by compare-and-set only while it names no
// newer term, so a deposed leader's late write cannot hide its successor's view, and followers
// ignore a head of an older term than one they have seen.
import { gunzipSync, gzipSync } from "node:zlib";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { isRevisionConflict, openBucket } from "../../store/buckets.js";

/** The bucket of the delivery view. */
export const DELIVERY_VIEW_BUCKET = "gitfleet_delivery_view";

const PART_BYTES = 512 * 1024;

interface Head {
  term: number;
  seq: number;
  parts: number;
  writtenAt: string;
}

/** A view written by the leader and followed by every replica. */
export interface SharedView<T> {
  /**
   * Writes `value` under `term`; later writes replace it. Rejects with {@link ViewFencedError}
   * when the view already holds a newer term, and when NATS fails.
   */
  write(value: T, term: number): Promise<void>;
  /** Calls `onValue` with the current value, then with every new one; returns the stop. */
  follow(onValue: (value: T, term: number) => void): Promise<() => Promise<void>>;
}

/** A write of a leader whose term is older than the view's: another replica leads now. */
export class ViewFencedError extends Error {
  readonly newerTerm: number;

  constructor(term: number, newerTerm: number) {
    super(`the delivery view holds term ${newerTerm}, newer than this leader's term ${term}`);
    this.name = "ViewFencedError";
    this.newerTerm = newerTerm;
  }
}

/** Opens (creating when absent) the view bucket on `nc`. */
export async function openSharedView<T>(nc: NatsConnection, options: { replicas: number; logger: Logger; bucket?: string }): Promise<SharedView<T>> {
  const bucket = options.bucket ?? DELIVERY_VIEW_BUCKET;
  const kv: KV = await openBucket(new Kvm(nc), bucket, { replicas: options.replicas, description: "gitfleet delivery leader's view for follower replicas" });
  let jsm: JetStreamManager | undefined;
  let seq = Date.now();
  let previous: Head | undefined;
  const logger = options.logger;

  const read = async (head: Head): Promise<T | undefined> => {
    const parts: Uint8Array[] = [];
    for (let n = 0; n < head.parts; n++) {
      const entry = await kv.get(`part.${head.term}.${head.seq}.${n}`);
      if (!entry || entry.operation !== "PUT") return undefined;
      parts.push(entry.value);
    }
    return JSON.parse(gunzipSync(Buffer.concat(parts)).toString("utf8")) as T;
  };

  const purgeParts = async (head: Head): Promise<void> => {
    try {
      jsm ??= await jetstreamManager(nc);
      await jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}.part.${head.term}.${head.seq}.>` });
    } catch (err) {
      logger.debug({ err }, "cannot purge a delivery view's parts");
    }
  };

  // Replaces the head by compare-and-set while it names no newer term.
  const putHead = async (head: Head): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const entry = await kv.get("head");
      const current = entry && entry.operation === "PUT" ? parseHead(entry.string()) : undefined;
      if (current && current.term > head.term) {
        await purgeParts(head);
        throw new ViewFencedError(head.term, current.term);
      }
      try {
        if (entry) await kv.update("head", JSON.stringify(head), entry.revision);
        else await kv.create("head", JSON.stringify(head));
        return;
      } catch (err) {
        if (!isRevisionConflict(err) || attempt >= 5) throw err;
      }
    }
  };

  return {
    async write(value, term) {
      const bytes = gzipSync(Buffer.from(JSON.stringify(value)));
      const head: Head = { term, seq: ++seq, parts: Math.max(1, Math.ceil(bytes.length / PART_BYTES)), writtenAt: new Date().toISOString() };
      for (let n = 0; n < head.parts; n++) await kv.put(`part.${term}.${head.seq}.${n}`, bytes.subarray(n * PART_BYTES, (n + 1) * PART_BYTES));
      await putHead(head);
      const old = previous;
      previous = head;
      if (old) await purgeParts(old);
    },
    async follow(onValue) {
      const iterator = await kv.watch({ key: "head" });
      let newestTerm = Number.NEGATIVE_INFINITY;
      const loop = (async () => {
        for await (const entry of iterator) {
          if (entry.operation !== "PUT") continue;
          try {
            const head = parseHead(entry.string());
            if (!head || head.term < newestTerm) continue;
            newestTerm = head.term;
            const value = await read(head);
            if (value !== undefined) onValue(value, head.term);
          } catch (err) {
            logger.warn({ err }, "cannot read the delivery leader's view; waiting for the next");
          }
        }
      })();
      return async () => {
        iterator.stop();
        await loop.catch(() => undefined);
      };
    },
  };
}

function parseHead(text: string): Head | undefined {
  try {
    const head = JSON.parse(text) as Partial<Head>;
    return typeof head.term === "number" && typeof head.seq === "number" && typeof head.parts === "number" ? (head as Head) : undefined;
  } catch {
    return undefined;
  }
}
