// The health rules, kind by kind, that assessHealth (../health.ts) chooses from.
export { healthy, viewOf } from "./assessment.js";
export type { HealthAssessment, ObjectView } from "./assessment.js";
export { abnormalConditionsRule, deletionRule, generationRule, readyConditionRule } from "./generic.js";
export { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from "./rollouts.js";
export { jobHealth, podHealth } from "./pods.js";
export { crdHealth, namespaceHealth, pvcHealth, serviceHealth } from "./core-kinds.js";
