// Notification sinks (docs/events.md): fleet events sent to signed JSON webhooks and Slack
// incoming webhooks, de-duplicated per object and state, retried with backoff from a durable
// JetStream consumer per sink that every replica shares.

export { dedupKeyOf, settledObjectOf } from "./dedup.js";
export type { DedupKey } from "./dedup.js";
export { sinkConsumerConfig, sinkConsumerName } from "./dispatcher.js";
export { startNotifications } from "./notifications.js";
export type { Notifications, NotificationsOptions, SinkStatusView } from "./notifications.js";
export { sinkRequest, slackMessage } from "./payloads.js";
export type { SinkRequest } from "./payloads.js";
export { afterFailure, isExpired, retryDelayMs } from "./retry.js";
export type { RetryDecision } from "./retry.js";
export { httpSender } from "./sender.js";
export type { SendResult, Sender } from "./sender.js";
export { eventSignature, signatureHeader, timestampHeader, verifyEventSignature } from "./signature.js";
export { addRecord, recentDeliveries } from "./sink-stats.js";
export type { DeliveryOutcome, DeliveryRecord, SinkStats } from "./sink-stats.js";
export { parseSinks, redactUrl, sinkDefaults } from "./sinks-config.js";
export type { RetryPolicy, SinkConfig, SinkType } from "./sinks-config.js";
