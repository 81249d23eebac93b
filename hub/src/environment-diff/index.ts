// Environment diffs: the rendered desired state of two clusters or pipeline stages, or of one
// cluster at two commits, compared object by object and field by field (docs/promotion.md).
export { compareEnvironments, compareRevisions } from "./environment-diff.js";
export type { EnvironmentDiff, EnvironmentSideView } from "./environment-diff.js";
export { findEnvironment, parseEnvironmentRef } from "./environment-ref.js";
export type { EnvironmentRef, FoundEnvironment } from "./environment-ref.js";
export { diffFields, escapePointer, jsonEqual } from "./field-diff.js";
export type { FieldChange } from "./field-diff.js";
export { diffObjects, refOf } from "./object-diff.js";
export type { DiffField, ObjectChange, ObjectDiff, ObjectRef, RenderedItem } from "./object-diff.js";
