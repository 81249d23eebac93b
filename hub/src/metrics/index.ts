// The hub's Prometheus metrics (docs/metrics.md).
export { createHubMetrics, stepBuckets } from "./hub-metrics.js";
export type { DeliveryMetrics, GitOperation, HubMetricSources, HubMetrics, HubMetricsOptions, NatsErrorKind, StepOutcome } from "./hub-metrics.js";
export { metricsResponse, startMetricsServer } from "./metrics-server.js";
export type { MetricsServer, MetricsSource } from "./metrics-server.js";
export { parseExposition, sampleValue } from "./exposition.js";
export type { Sample } from "./exposition.js";
