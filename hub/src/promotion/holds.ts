// Holds on a pipeline's auto-promotion: set when `rollback: auto` reverted a failed promotion,
// cleared by POST /api/v1/pipelines/{name}/resume. Kept in JetStream KV, so every replica's
// auto-promoter sees them and a restart keeps them.
import { storeError } from "../store/buckets.js";

/** Why a pipeline's auto-promotion is held. */
export interface PipelineHold {
  pipeline: string;
  /** When the hold was set (RFC 3339). */
  since: string;
  reason: string;
  /** The promotion that failed verification, and the rollback that reverted it. */
  promotion?: string;
  rollback?: string;
}

/** The few KV calls the holds need (a JetStream KV bucket has them). */
export interface HoldsKv {
  get(key: string): Promise<{ operation: string; string(): string } | null>;
  put(key: string, value: string): Promise<unknown>;
  delete(key: string): Promise<unknown>;
}

/** Holds on pipelines' auto-promotion. */
export interface PipelineHolds {
  /** The pipeline's hold, or undefined when it is not held. */
  get(pipeline: string): Promise<PipelineHold | undefined>;
  /** Holds the pipeline (replacing an older hold). */
  hold(hold: PipelineHold): Promise<void>;
  /** Lifts the hold; returns the hold that was lifted, if any. */
  resume(pipeline: string): Promise<PipelineHold | undefined>;
}

/** Options of {@link createPipelineHolds}. */
export interface PipelineHoldsOptions {
  kv: HoldsKv;
  /** What error messages call the bucket; default gitfleet_pipeline_holds. */
  bucket?: string;
}

const keyOf = (pipeline: string) => `hold.${pipeline}`;

/** Creates the holds store on a KV bucket. */
export function createPipelineHolds(options: PipelineHoldsOptions): PipelineHolds {
  const { kv } = options;
  const bucket = options.bucket ?? "gitfleet_pipeline_holds";
  const get = async (pipeline: string): Promise<PipelineHold | undefined> => {
    try {
      const entry = await kv.get(keyOf(pipeline));
      if (!entry || entry.operation !== "PUT") return undefined;
      return JSON.parse(entry.string()) as PipelineHold;
    } catch (err) {
      throw storeError(`cannot read the hold of pipeline ${pipeline} from ${bucket}`, err);
    }
  };
  return {
    get,
    async hold(hold) {
      try {
        await kv.put(keyOf(hold.pipeline), JSON.stringify(hold));
      } catch (err) {
        throw storeError(`cannot hold pipeline ${hold.pipeline} in ${bucket}`, err);
      }
    },
    async resume(pipeline) {
      const previous = await get(pipeline);
      if (!previous) return undefined;
      try {
        await kv.delete(keyOf(pipeline));
      } catch (err) {
        throw storeError(`cannot resume pipeline ${pipeline} in ${bucket}`, err);
      }
      return previous;
    },
  };
}
