// @gitfleet/proto/rules: the rules the hub, the agent and the tools share, written once so
// both sides of the wire accept and refuse the same input with the same words.

export { dnsLabelProblem, dnsSubdomainProblem } from "./dns-label.js";
export { DurationError, formatDuration, parseDuration } from "./duration.js";
export { labelKeyProblem, labelProblems, labelValueProblem, parseLabels } from "./labels.js";
export type { Labels, ParsedLabels } from "./labels.js";
export { isLoopbackHost } from "./loopback.js";
export { messageOf } from "./message-of.js";
export { PRODUCT_VERSION, acceptedAgentVersions, agentVersionProblem, compareVersions, isOlderVersion, parseVersion } from "./version.js";
export type { Version } from "./version.js";
