// After a rotation: every cluster's pointer again, signed by the new key, with the next
// generation (an agent refuses a pointer whose generation it holds with other content, and the
// signature is part of what it stores). Compare-and-set on each pointer: a publish that races
// with it wins or loses as any two publishes do, and the publisher re-reads on a conflict.
import { DesiredStateSchema, fromBinary, timestampFromDate } from "@gitfleet/proto";
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { isRevisionConflict } from "../store/buckets.js";
import type { DesiredStateSigner } from "./signer.js";

/** What {@link resignPointers} did. */
export interface ResignOutcome {
  /** Pointers written with the new signature. */
  resigned: number;
  /** Clusters whose pointer could not be re-signed (logged); their next publish signs it. */
  failed: string[];
}

const POINTER = /^([A-Za-z0-9_-]+)\.desired$/;

/** Re-signs every `<cluster>.desired` pointer of the desired-state bucket with `signer`. */
export async function resignPointers(input: { kv: KV; signer: DesiredStateSigner; logger: Logger; now: () => Date }): Promise<ResignOutcome> {
  const { kv, logger } = input;
  const clusters: string[] = [];
  for await (const key of await kv.keys("*.desired")) {
    const match = POINTER.exec(key);
    if (match?.[1]) clusters.push(match[1]);
  }
  let resigned = 0;
  const failed: string[] = [];
  for (const clusterId of clusters) {
    try {
      if (await resignOne(kv, clusterId, input)) resigned++;
    } catch (err) {
      failed.push(clusterId);
      logger.warn({ cluster: clusterId, err }, "could not re-sign the cluster's desired state; its next publish signs it with the new key");
    }
  }
  return { resigned, failed };
}

async function resignOne(kv: KV, clusterId: string, input: { signer: DesiredStateSigner; now: () => Date }): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = await kv.get(`${clusterId}.desired`);
    if (!entry || entry.operation !== "PUT") return false;
    const state = fromBinary(DesiredStateSchema, entry.value);
    state.generation += 1n;
    state.publishedAt = timestampFromDate(input.now());
    try {
      await kv.update(`${clusterId}.desired`, input.signer.encode(state, clusterId), entry.revision);
      return true;
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
    }
  }
  throw new Error(`the pointer of cluster ${clusterId} kept changing`);
}
