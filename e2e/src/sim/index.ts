// The fleet simulator: N simulated clusters, each the real agent against an in-memory object
// store, on real gRPC and NATS connections, spread over worker processes (see docs/simulator.md).
export { startSimFleet } from "./fleet.js";
export type { RegistrationTiming, SimFleet, SimFleetOptions } from "./fleet.js";
export type { WorkerStats } from "./protocol.js";
export { createSimKube } from "./sim-kube.js";
export type { SimKube, SimKubeOptions } from "./sim-kube.js";
