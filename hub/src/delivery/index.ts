// The delivery part's surface for the rest of the hub (hub.ts, the API, the CLI) and for e2e
// tests. Anything not exported here is private to delivery. Four folders hold its jobs, each
// behind its own index.ts: git/ (following Git), fleet/ (fleet.yaml and targeting), render/
// (plain folders, kustomize, substitution) and publish/ (desired state into JetStream); the
// files at this level orchestrate them (resolve, snapshot, errors, the delivery loop).
export { createDelivery } from "./delivery.js";
export type { ClusterSource, Delivery, DeliveryMetrics, DeliveryOptions, DeliveryStatus, ResolvedFleet, StepOutcome } from "./delivery.js";
export { commitInfo, createGitSource, parseTrailers, probeBranch, readCommitFiles, splitCredentials, trailer } from "./git/index.js";
export type { CommitFiles, ReadCommitOptions, TreeLimits } from "./git/index.js";
export type { GitSource, GitSourceOptions, SnapshotListener } from "./git/index.js";
export type { ClusterRef, CommitInfo, Snapshot } from "./snapshot.js";
export { createCommitLog } from "./commit-log.js";
export type { CommitLog } from "./commit-log.js";
export { DEFAULT_TARGET, FLEET_API_VERSION, FLEET_FILE, ignoreRuleForm, parseFleetFile, readFleetFile } from "./fleet/index.js";
export type { BundleSpec, DriftPolicy, FleetSpec, IgnoreRuleForm, IgnoreRuleSpec, Substitution, TargetSpec } from "./fleet/index.js";
export { DEFAULT_GATES, DEFAULT_VERIFY_TIMEOUT_MS, formatValuePath, parseValuePath } from "./fleet/index.js";
export type { GateSpec, PathSegment, PipelineSpec, PipelineStageSpec, PromotableSpec } from "./fleet/index.js";
export { targetOf, targetsFor } from "./fleet/index.js";
export type { BundleTarget } from "./fleet/index.js";
export { describeSelector, matchesClusterSelector } from "./fleet/index.js";
export type { ClusterSelector, SelectorExpression, SelectorOperator } from "./fleet/index.js";
export { KUSTOMIZATION_FILE_NAMES, renderPlainDirectory } from "./render/index.js";
export { createOverlayRenderer, createPlainDirectoryRenderer, kustomizationIn } from "./render/index.js";
export type { OverlayRenderer, OverlayRendererOptions, OverlayRenderInput, RenderedOverlay } from "./render/index.js";
export { bundleObjects, prepareOverlay } from "./render/index.js";
export type { BundleObjectsOptions, PreparedOverlay, RenderedObject } from "./render/index.js";
export { SUBSTITUTE_ANNOTATION, SUBSTITUTE_DISABLED, fieldPath, findTemplates, parseTemplate, substituteObject, unquotedScalar } from "./render/index.js";
export type { FieldPath, FieldProblem, FieldTemplate, TemplatePart, TemplateReference } from "./render/index.js";
export { CLUSTER_LABEL_PREFIX, CLUSTER_NAME_VARIABLE, MAX_VARIABLE_VALUE, clusterLabelVariable, clusterVariables, variableNameProblem } from "./fleet/index.js";
export type { VariableLookup, VariableValue } from "./fleet/index.js";
export { checkFleet } from "./fleet-check.js";
export type { FleetCheck, TargetCheck } from "./fleet-check.js";
export { WORKING_TREE, readWorkingTree } from "./git/index.js";
export type { WorkingTreeOptions } from "./git/index.js";
export { resolve } from "./resolve.js";
export type { RenderMemo, Resolution, ResolveInput, ResolveStats } from "./resolve.js";
export type { BundleAssignment, BundleFailure, ClusterResolution, ResolvedBundle } from "./resolution.js";
export { DEFAULT_PUBLISH_CONCURRENCY, createPublisher } from "./publish/index.js";
export { activeKeySigner } from "../signing/index.js";
export type { DesiredStateSigner } from "../signing/index.js";
export type { PublishAllOptions, PublishFence, PublishOutcome, Publisher, PublisherOptions, SourceInfo } from "./publish/index.js";
export { DESIRED_BUCKET, chunkKey, openDesiredBucket, pointerKey } from "./publish/index.js";
export type { DesiredBucket } from "./publish/index.js";
export { DELIVERY_LEADER_KEY, createDeliveryLease } from "./lease/delivery-lease.js";
export type { DeliveryLease, DeliveryLeaseOptions, DeliveryLeaseValue, DeliveryRole, DeliveryRoleChange } from "./lease/delivery-lease.js";
export { DeliveryError, FleetFileError, GitSourceError, PublishError, RenderError } from "./errors.js";
export type { DeliveryErrorReason, FleetFileIssue, RenderErrorReason } from "./errors.js";
export { createKustomizeRenderer } from "./render/index.js";
export type { KustomizeRenderer, KustomizeRendererOptions } from "./render/index.js";
export { KustomizeError } from "./render/index.js";
export type { KustomizeFailure } from "./render/index.js";
export { walkKustomization } from "./render/index.js";
export type { KustomizeWalk } from "./render/index.js";
export { DELIVERY_VIEW_BUCKET, openSharedView, ViewFencedError } from "./view/shared-view.js";
export type { SharedView } from "./view/shared-view.js";
