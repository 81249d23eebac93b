// Following Git: the fleet repository's commits as snapshots (remote, over smart HTTP) or a
// working tree on disk (for `gitfleet render`).
export { commitInfo, parseTrailers, trailer } from "./commit-info.js";
export type { CommitObject } from "./commit-info.js";
export { createGitSource, probeBranch, splitCredentials } from "./git-source.js";
export { readCommitFiles } from "./git-tree.js";
export type { CommitFiles, ReadCommitOptions, TreeLimits } from "./git-tree.js";
export type { GitSource, GitSourceOptions, SnapshotListener } from "./git-source.js";
export { WORKING_TREE, readWorkingTree } from "./working-tree.js";
export type { WorkingTreeOptions } from "./working-tree.js";
