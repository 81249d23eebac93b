// Rendering: overlay folders into objects (plain folders, kustomize), checked, defaulted and
// substituted per cluster, with a cache keyed by what each render read.
export { bundleObjects, prepareOverlay, substitutionCandidates } from "./bundle-objects.js";
export type { BundleObjectsOptions, PreparedOverlay, RenderedObject } from "./bundle-objects.js";
export { KustomizeError } from "./kustomize-error.js";
export type { KustomizeFailure } from "./kustomize-error.js";
export { walkKustomization } from "./kustomize-walk.js";
export type { KustomizeWalk } from "./kustomize-walk.js";
export { createKustomizeRenderer } from "./kustomize.js";
export type { KustomizeRenderer, KustomizeRendererOptions } from "./kustomize.js";
export { createOverlayRenderer, createPlainDirectoryRenderer } from "./overlay-renderer.js";
export type { OverlayRendererOptions } from "./overlay-renderer.js";
export { KUSTOMIZATION_FILE_NAMES, kustomizationIn } from "./overlay.js";
export type { OverlayRenderInput, OverlayRenderer, RenderedOverlay } from "./overlay.js";
export { renderPlainDirectory } from "./plain-directory.js";
export { unquotedScalar } from "./manifests.js";
export type { FieldPath } from "./manifests.js";
export { renderOverlay, reuse } from "./render-cache.js";
export type { CachedRender, RenderMemo } from "./render-cache.js";
export { SUBSTITUTE_ANNOTATION, SUBSTITUTE_DISABLED, fieldPath, findTemplates, namesWithoutDefault, parseTemplate, substituteObject } from "./substitute.js";
export type { FieldProblem, FieldTemplate, TemplatePart, TemplateReference } from "./substitute.js";
