// Promotion edits: what a stage of a pipeline carries, the structured edits that make the next
// stage carry the same, applying them (or their reverse, for a rollback) while keeping every other
// byte of the files, and unified diffs to show them. Pure: files in, files out.
export { applyEdits } from "./apply-edits.js";
export { EditError } from "./edit-error.js";
export type { EditErrorReason } from "./edit-error.js";
export { promotionEdits } from "./promotion-edits.js";
export { imageReference, stageIndex, stageValues } from "./stage-values.js";
export type { AppliedEdits, Edit, EditConflict, EditValue, PromotedValue } from "./types.js";
export type { PathSegment } from "../../delivery/index.js";
export { unifiedDiff } from "./unified-diff.js";
export { setValue } from "./yaml-edit.js";
