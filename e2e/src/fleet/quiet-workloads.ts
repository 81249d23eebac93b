// A small fleet that controllers keep working on (a Deployment, a Service, a Job, and a custom
// resource whose CRD fills in defaults): applied and left alone, it must show no drift at all.
import type { Manifest } from "./fleet-seed.js";

/** The quiet fleet's objects, without namespaces: the bundle's namespace applies. */
export function quietWorkloads(): Manifest[] {
  const labels = { app: "quiet" };
  return [
    {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "gadgets.lab.gitfleet.io" },
      spec: {
        group: "lab.gitfleet.io",
        scope: "Namespaced",
        names: { kind: "Gadget", plural: "gadgets", singular: "gadget", listKind: "GadgetList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: { spec: { type: "object", properties: { size: { type: "integer", default: 3 }, mode: { type: "string", default: "fast" } } } },
              },
            },
          },
        ],
      },
    },
    { apiVersion: "lab.gitfleet.io/v1", kind: "Gadget", metadata: { name: "g1" }, spec: { mode: "slow" } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "quiet" },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: labels },
          spec: { containers: [{ name: "web", image: "registry.example/web:1.0", ports: [{ containerPort: 8080 }], resources: { requests: { cpu: "0.5", memory: "64Mi" } } }] },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name: "quiet" }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "once" },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "job", image: "registry.example/job:1.0" }] } } },
    },
  ];
}
