// Reading fleet.yaml and targeting: the fleet file's schema and errors, cluster selectors, which
// target of which bundle each cluster gets, the variables a cluster brings, and the pipelines
// promotions follow.
export { DEFAULT_TARGET, FLEET_API_VERSION, FLEET_FILE, parseFleetFile, readFleetFile } from "./fleet-file.js";
export type { BundleSpec, DriftPolicy, FleetSpec, Substitution, TargetSpec } from "./fleet-file.js";
export { DEFAULT_VERIFY_TIMEOUT_MS } from "./pipelines.js";
export type { PipelineSpec, PipelineStageSpec } from "./pipelines.js";
export { DEFAULT_GATES } from "./promotables.js";
export type { GateSpec, PromotableSpec } from "./promotables.js";
export { formatValuePath, parseValuePath } from "./value-paths.js";
export type { PathSegment } from "./value-paths.js";
export { ignoreRuleForm } from "./ignore-rules.js";
export type { IgnoreRuleForm, IgnoreRuleSpec } from "./ignore-rules.js";
export { describeSelector, matchesClusterSelector } from "./selector.js";
export type { ClusterSelector, SelectorExpression, SelectorOperator } from "./selector.js";
export { targetOf, targetsFor } from "./targeting.js";
export type { BundleTarget } from "./targeting.js";
export { CLUSTER_LABEL_PREFIX, CLUSTER_NAME_VARIABLE, MAX_VARIABLE_VALUE, VARIABLE_NAME, clusterLabelVariable, clusterVariables, variableNameProblem } from "./variables.js";
export type { VariableLookup, VariableValue } from "./variables.js";
export { yamlErrorText } from "./yaml-fields.js";
