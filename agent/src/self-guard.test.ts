import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { KubeObject } from "./kube-objects.js";
import { selfObjectReason, selfRefReason } from "./self-guard.js";
import type { AgentSelf } from "./self-guard.js";

const self: AgentSelf = { namespace: "gitfleet-system", serviceAccount: "gitfleet-agent", rbacName: "gitfleet-agent" };
const object = (apiVersion: string, kind: string, name: string, namespace?: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  ...extra,
});
const binding = (kind: "RoleBinding" | "ClusterRoleBinding", name: string, subject: Record<string, unknown>, namespace?: string): KubeObject =>
  object("rbac.authorization.k8s.io/v1", kind, name, namespace, { roleRef: { kind: "ClusterRole", name: "admin" }, subjects: [subject] });

describe("the agent's own objects", () => {
  it("names each of them: identity, state, inventories, Lease, namespace, ServiceAccount and the chart's RBAC", () => {
    const own: [KubeObject, RegExp][] = [
      [object("v1", "Secret", "gitfleet-agent-identity", "gitfleet-system"), /identity Secret/],
      [object("v1", "Secret", "gitfleet-agent-state", "gitfleet-system"), /desired-state Secret/],
      [object("v1", "ConfigMap", "gitfleet-inventory-web", "gitfleet-system"), /inventory/],
      [object("v1", "ConfigMap", "innocent", "gitfleet-system", { metadata: { name: "innocent", namespace: "gitfleet-system", labels: { "gitfleet.io/inventory": "true" } } }), /inventory/],
      [object("coordination.k8s.io/v1", "Lease", "gitfleet-agent", "gitfleet-system"), /leader election Lease/],
      [object("v1", "Namespace", "gitfleet-system"), /namespace/],
      [object("v1", "ServiceAccount", "gitfleet-agent", "gitfleet-system"), /ServiceAccount/],
      [object("rbac.authorization.k8s.io/v1", "ClusterRole", "gitfleet-agent-gitfleet-system"), /own ClusterRole/],
      [object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "gitfleet-agent-gitfleet-system"), /own ClusterRoleBinding/],
      [object("rbac.authorization.k8s.io/v1", "Role", "gitfleet-agent-self", "gitfleet-system"), /own Role/],
      [object("rbac.authorization.k8s.io/v1", "RoleBinding", "gitfleet-agent", "web"), /own RoleBinding/],
      [binding("ClusterRoleBinding", "grab", { kind: "ServiceAccount", name: "gitfleet-agent", namespace: "gitfleet-system" }), /binding of the agent's ServiceAccount/],
      [binding("RoleBinding", "grab", { kind: "ServiceAccount", name: "gitfleet-agent" }, "gitfleet-system"), /binding of the agent's ServiceAccount/],
    ];
    for (const [o, reason] of own) assert.match(selfObjectReason(self, o) ?? "not refused", reason, `${o.kind} ${o.metadata.name}`);
  });

  it("leaves alike objects elsewhere, or of other names, alone", () => {
    const others = [
      object("v1", "Secret", "gitfleet-agent-identity", "web"),
      object("v1", "ConfigMap", "gitfleet-inventory-web", "web"),
      object("v1", "ConfigMap", "settings", "gitfleet-system"),
      object("coordination.k8s.io/v1", "Lease", "gitfleet-agent", "web"),
      object("v1", "Namespace", "web"),
      object("v1", "ServiceAccount", "web", "gitfleet-system"),
      object("rbac.authorization.k8s.io/v1", "ClusterRole", "web-reader"),
      binding("RoleBinding", "web", { kind: "ServiceAccount", name: "gitfleet-agent" }, "web"),
      binding("ClusterRoleBinding", "web", { kind: "ServiceAccount", name: "gitfleet-agent", namespace: "web" }),
      object("example.com/v1", "Secret", "gitfleet-agent-identity", "gitfleet-system"),
    ];
    for (const o of others) assert.equal(selfObjectReason(self, o), undefined, `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
  });

  it("without a known ServiceAccount or RBAC name, still guards what the agent names itself", () => {
    const bare: AgentSelf = { namespace: "gitfleet-system" };
    assert.equal(selfObjectReason(bare, object("v1", "ServiceAccount", "gitfleet-agent", "gitfleet-system")), undefined);
    assert.match(selfObjectReason(bare, object("v1", "Secret", "gitfleet-agent-identity", "gitfleet-system")) ?? "", /identity/);
  });

  it("judges a reference alone, as pruning sees it", () => {
    assert.match(selfRefReason(self, { group: "", version: "v1", kind: "Namespace", namespace: "", name: "gitfleet-system" }) ?? "", /namespace/);
    assert.equal(selfRefReason(self, { group: "", version: "v1", kind: "Namespace", namespace: "", name: "web" }), undefined);
  });
});
