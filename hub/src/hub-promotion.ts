// The hub's promotion part: the records, lock and hold buckets, the service the API calls, and the
// two loops (verification, auto-promotion) each replica runs. Started only when the delivery part
// follows a Git repository; the promotion routes answer 503 otherwise.
import { Kvm } from "@nats-io/kv";
import type { Logger } from "pino";
import type { HubDelivery } from "./delivery-contract.js";
import { clusterDirectory, type HubStores, type StopStack } from "./hub-steps.js";
import type { HubNatsConnection } from "./nats-connection.js";
import {
  createHeadCache,
  createPipelineHolds,
  createPipelineViews,
  createPromotionService,
  createPromotionStore,
  createStageLock,
  createStageStates,
  openLocksBucket,
  openPromotionsBucket,
  promotionEditEngine,
  startAutoPromoter,
  startVerifier,
  type BackgroundLoop,
  type PipelineViews,
  type PromotionEvent,
  type PromotionService,
  type SinceSource,
} from "./promotion/index.js";
import { bucketNames, openBucket } from "./store/buckets.js";

/** What the API serves promotions with. */
export interface HubPromotion {
  service: PromotionService;
  pipelines: PipelineViews;
}

/** Options of {@link startPromotion}. */
export interface StartPromotionInput {
  nats: HubNatsConnection;
  replicas: number;
  stores: HubStores;
  delivery: HubDelivery | undefined;
  /** When each cluster reached a bundle digest (the history recorder). */
  history: SinceSource;
  /** How often promotions rolling out are verified and auto stages evaluated; default 2 s. */
  intervalMs?: number | undefined;
  /** Told about each promotion event, e.g. to log or forward it. */
  onEvent?: ((event: PromotionEvent) => void) | undefined;
  logger: Logger;
  now: () => Date;
}

/** Opens the buckets and starts the loops; undefined without a Git repository. */
export async function startPromotion(input: StartPromotionInput, stops: StopStack): Promise<HubPromotion | undefined> {
  const { delivery, stores, replicas, now } = input;
  const repository = delivery?.repository;
  if (!delivery || !repository) return undefined;
  const logger = input.logger.child({ component: "promotion" });
  const kvm = new Kvm(input.nats.nc);
  const [promotionsKv, locksKv, holdsKv] = await Promise.all([
    openPromotionsBucket(kvm, replicas),
    openLocksBucket(kvm, replicas),
    openBucket(kvm, bucketNames.pipelineHolds, { replicas, description: "gitfleet pipelines whose auto-promotion is held" }),
  ]);
  const records = createPromotionStore({ kv: promotionsKv, now, logger });
  const lock = createStageLock({ kv: locksKv, now, logger });
  const holds = createPipelineHolds({ kv: holdsKv, bucket: bucketNames.pipelineHolds });
  const stages = createStageStates({
    clusters: clusterDirectory(stores.clusters),
    fleet: { bundles: () => delivery.bundles?.() },
    drift: stores.drift,
    status: stores.status,
    bundleErrors: delivery,
    history: input.history,
    commits: delivery.commits,
    now,
  });
  // The loops read the head through a cache: a fetch at most every 10 s, after each commit, and
  // when delivery resolves another commit.
  const heads = createHeadCache({ repository, maxAgeMs: 10_000, delivered: () => delivery.bundles?.()?.commit, now });
  const loops: BackgroundLoop[] = [];
  const service = createPromotionService({
    repository,
    stages,
    records,
    lock,
    logger,
    now,
    onEvent: (event) => {
      logger.info({ promotion: event.promotion.id, pipeline: event.promotion.pipeline, stage: event.promotion.to.stage, state: event.promotion.state }, event.type);
      input.onEvent?.(event);
    },
    onCommitted: () => {
      heads.invalidate();
      for (const loop of loops) loop.kick();
    },
  });
  const intervalMs = input.intervalMs ?? 2_000;
  loops.push(startVerifier({ records, stages, heads, holds, service, logger, now, intervalMs, onEvent: input.onEvent }));
  loops.push(startAutoPromoter({ service, records, stages, heads, holds, edits: promotionEditEngine, logger, now, intervalMs }));
  stops.push("promotion loops", async () => {
    await Promise.all(loops.map((loop) => loop.stop()));
  });
  return { service, pipelines: createPipelineViews({ heads, stages, records, holds, edits: promotionEditEngine }) };
}
