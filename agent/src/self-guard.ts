// The agent's own objects, which no bundle may touch: a bundle that could rewrite the identity
// Secret would take over the agent's credentials, one that edits an inventory would turn it into
// a list of things to delete, one that holds the Lease would stop leader election, and one that
// changes the agent's RBAC or prunes its namespace would lock the agent out or delete it. The
// planning step refuses such a bundle as a whole before anything is applied, and pruning never
// deletes these objects, whatever an inventory lists.
import { IDENTITY_SECRET } from "./identity.js";
import { INVENTORY_LABEL, inventoryName } from "./inventory.js";
import { splitApiVersion } from "./kube-objects.js";
import type { KubeObject, ObjectRef } from "./kube-objects.js";
import { LEASE_NAME } from "./leader-election.js";
import { STATE_SECRET } from "./state-store.js";

/** What the agent knows of itself, to recognise its own objects. */
export interface AgentSelf {
  /** The agent's namespace. */
  namespace: string;
  /** The ServiceAccount the agent runs as, when known: it and every binding naming it are guarded. */
  serviceAccount?: string | undefined;
  /**
   * The name the agent's chart gives its Roles, ClusterRoles and bindings (the release's full
   * name): `<name>-<namespace>` cluster-wide, `<name>-self` in its namespace, `<name>` anywhere.
   */
  rbacName?: string | undefined;
}

/** What the agent knows of its RBAC, beside its namespace (from its chart). */
export type AgentRbac = Omit<AgentSelf, "namespace">;

const RBAC_GROUP = "rbac.authorization.k8s.io";
const INVENTORY_PREFIX = inventoryName("");

/**
 * Why `object` (namespace filled in) is one of the agent's own objects, as a phrase such as
 * "the agent's identity Secret"; undefined when it is not one.
 */
export function selfObjectReason(self: AgentSelf, object: KubeObject): string | undefined {
  const ref = { group: splitApiVersion(object.apiVersion).group, kind: object.kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name };
  const byRef = selfRefReason(self, ref);
  if (byRef !== undefined) return byRef;
  if (ref.group === "" && ref.kind === "ConfigMap" && ref.namespace === self.namespace && object.metadata.labels?.[INVENTORY_LABEL] !== undefined) {
    return "labelled as an inventory of the agent";
  }
  if (ref.group === RBAC_GROUP && (ref.kind === "RoleBinding" || ref.kind === "ClusterRoleBinding") && self.serviceAccount !== undefined) {
    const subjects = Array.isArray(object["subjects"]) ? (object["subjects"] as unknown[]) : [];
    for (const subject of subjects) {
      if (typeof subject !== "object" || subject === null) continue;
      const s = subject as Record<string, unknown>;
      const namespace = typeof s["namespace"] === "string" && s["namespace"] !== "" ? s["namespace"] : ref.namespace;
      if (s["kind"] === "ServiceAccount" && s["name"] === self.serviceAccount && namespace === self.namespace) {
        return "a binding of the agent's ServiceAccount";
      }
    }
  }
  return undefined;
}

/**
 * Why the object `ref` names is one of the agent's own objects, judged by its reference alone
 * (what pruning has); undefined when it is not one.
 */
export function selfRefReason(self: AgentSelf, ref: ObjectRef | Omit<ObjectRef, "version">): string | undefined {
  const inNamespace = ref.namespace === self.namespace;
  if (ref.group === "") {
    if (ref.kind === "Namespace" && ref.name === self.namespace) return "the agent's namespace";
    if (ref.kind === "Secret" && inNamespace && ref.name === IDENTITY_SECRET) return "the agent's identity Secret";
    if (ref.kind === "Secret" && inNamespace && ref.name === STATE_SECRET) return "the agent's desired-state Secret";
    if (ref.kind === "ConfigMap" && inNamespace && ref.name.startsWith(INVENTORY_PREFIX)) return "an inventory of the agent";
    if (ref.kind === "ServiceAccount" && inNamespace && ref.name === self.serviceAccount) return "the agent's ServiceAccount";
  }
  if (ref.group === "coordination.k8s.io" && ref.kind === "Lease" && inNamespace && ref.name === LEASE_NAME) return "the agent's leader election Lease";
  if (ref.group === RBAC_GROUP && self.rbacName !== undefined) {
    const name = self.rbacName;
    if ((ref.kind === "ClusterRole" || ref.kind === "ClusterRoleBinding") && ref.name === `${name}-${self.namespace}`) return `the agent's own ${ref.kind}`;
    if ((ref.kind === "Role" || ref.kind === "RoleBinding") && ((inNamespace && ref.name === `${name}-self`) || ref.name === name)) return `the agent's own ${ref.kind}`;
  }
  return undefined;
}
