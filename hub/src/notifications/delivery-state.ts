// What each sink was last sent about each object (gitfleet_notify_state), shared by the replicas
// that take turns on a sink's consumer. Keys expire with the events they came from.
import { createHash } from "node:crypto";
import type { KV } from "@nats-io/kv";
import { storeError } from "../store/buckets.js";

/** The last state sent per sink and object; see dedup.ts. */
export interface DeliveryState {
  /** True when `state` is what `sink` was last sent about `object`. */
  wasSent(sink: string, object: string, state: string): Promise<boolean>;
  remember(sink: string, object: string, state: string): Promise<void>;
  forget(sink: string, object: string): Promise<void>;
}

const digest = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex").slice(0, 32);
const keyOf = (sink: string, object: string): string => `${sink}.${digest(object)}`;

/** Creates the delivery state on its bucket. */
export function createDeliveryState(kv: KV): DeliveryState {
  return {
    async wasSent(sink, object, state) {
      try {
        const entry = await kv.get(keyOf(sink, object));
        return entry?.operation === "PUT" && entry.string() === digest(state);
      } catch (err) {
        throw storeError(`cannot read what sink ${sink} was sent`, err);
      }
    },
    async remember(sink, object, state) {
      try {
        await kv.put(keyOf(sink, object), digest(state));
      } catch (err) {
        throw storeError(`cannot record what sink ${sink} was sent`, err);
      }
    },
    async forget(sink, object) {
      try {
        await kv.delete(keyOf(sink, object));
      } catch (err) {
        throw storeError(`cannot clear what sink ${sink} was sent`, err);
      }
    },
  };
}
