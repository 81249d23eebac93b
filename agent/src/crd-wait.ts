import type { PlannedObject } from "./bundle-plan.js";
import type { Clock } from "./clock.js";
import { assessHealth } from "./health.js";
import type { KubeClient } from "./kube-client.js";
import type { CrdDefinition } from "./kube-objects.js";
import { HealthState } from "@gitfleet/proto";
import { messageOf } from "@gitfleet/proto/rules";

/** Options of {@link waitForCrds}. */
export interface WaitForCrdsOptions {
  kube: KubeClient;
  clock: Clock;
  /** The CRDs whose resources are about to be applied. */
  crds: readonly CrdDefinition[];
  /** The objects about to be applied; those defined by `crds` must be served by discovery. */
  objects: readonly PlannedObject[];
  timeoutMs: number;
  /** Poll interval; default 250 ms. */
  intervalMs?: number;
  /** Stops waiting early. */
  signal?: AbortSignal;
}

/**
 * Waits until every CRD is Established and discovery serves the kinds of the objects they
 * define, so applying those custom resources cannot fail for lack of a definition.
 * Resolves with undefined when ready, or with a message saying what did not become ready.
 */
export async function waitForCrds(options: WaitForCrdsOptions): Promise<string | undefined> {
  const deadline = options.clock.now() + options.timeoutMs;
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const o of options.objects) {
    if (o.definedBy && options.crds.includes(o.definedBy)) kinds.set(`${o.object.apiVersion}|${o.object.kind}`, o.object);
  }
  let waitingFor = "";
  for (;;) {
    waitingFor = await notReady(options, [...kinds.values()]);
    if (waitingFor === "") return undefined;
    if (options.signal?.aborted) return `${waitingFor} (the agent is stopping)`;
    if (options.clock.now() >= deadline) {
      return `${waitingFor} after ${Math.round(options.timeoutMs / 1000)}s`;
    }
    await options.clock.sleep(options.intervalMs ?? 250, options.signal);
  }
}

// Returns "" when everything is ready, or what is not.
async function notReady(options: WaitForCrdsOptions, kinds: ReadonlyArray<{ apiVersion: string; kind: string }>): Promise<string> {
  try {
    for (const crd of options.crds) {
      const live = await options.kube.get({
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        namespace: "",
        name: crd.crdName,
      });
      if (!live) return `CustomResourceDefinition ${crd.crdName} does not exist`;
      const { health, message } = assessHealth(live);
      if (health !== HealthState.HEALTHY) return `CustomResourceDefinition ${crd.crdName} is not established (${message})`;
    }
    for (const { apiVersion, kind } of kinds) {
      if ((await options.kube.isNamespaced(apiVersion, kind)) === undefined) {
        return `the API server does not serve ${kind} in ${apiVersion} yet`;
      }
    }
    return "";
  } catch (error) {
    return `cannot check the CRDs: ${messageOf(error)}`;
  }
}
