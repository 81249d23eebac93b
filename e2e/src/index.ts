// The public surface of @gitfleet/e2e: the lab and the helpers scenarios use.
export { startLab } from "./lab/lab.js";
export type { Lab, LabClusterInfo, LabInfo, LabOptions } from "./lab/lab.js";
export { ensureBinaries, ensureBinary, cacheDir } from "./lab/binaries.js";
export type { LabTool, ProgressFn } from "./lab/binaries.js";
export { startKubeApiserver, kubeconfigYaml } from "./lab/kube.js";
export type { KubeApiserver, KubeApiserverOptions } from "./lab/kube.js";
export { startNats } from "./lab/nats.js";
export type { NatsLab, NatsLabOptions } from "./lab/nats.js";
export { mintUserCreds } from "./lab/nats-users.js";
export type { MintedUser, MintUserOptions, SubjectPermission } from "./lab/nats-users.js";
export { startGitServer } from "./lab/git-server.js";
export type { GitServer, GitServerOptions } from "./lab/git-server.js";
export { startProcess, waitFor } from "./lab/process.js";
export type { LabProcess, StartProcessOptions, WaitForOptions } from "./lab/process.js";
export { freePort } from "./lab/ports.js";
export { kubeConfigFor, readObject, serverSideApply, statusCodeOf } from "./kube-client.js";
export type { ClusterAccess } from "./kube-client.js";
