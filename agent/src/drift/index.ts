// Drift detection and correction: the monitor, and what status and the hub link read from it.
export { createDriftMonitor } from "./monitor.js";
export type { Correction, DriftMonitor, DriftMonitorOptions, DriftStateName, ObjectDrift, ReportedField, TrackedBundle } from "./monitor.js";
export { createKubeEventRecorder } from "./kube-events.js";
export type { KubeEventRecorder } from "./kube-events.js";
export { DEFAULT_LOOP_GUARD } from "./loop-guard.js";
export type { LoopGuardLimits } from "./loop-guard.js";
export { compileIgnoreRules, ignoreRulesOf } from "./ignore-rules.js";
export type { IgnoreRule } from "./ignore-rules.js";
