// Identity and scope of Kubernetes objects, without asking an API server: the hub renders for
// many clusters at once and must not depend on any one cluster's discovery.

/** What makes an object unique in a cluster. `group` is "" for the core group. */
export interface ObjectId {
  readonly group: string;
  readonly kind: string;
  /** "" for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
}

/**
 * Well-known cluster-scoped kinds by API group. Namespaced is the safe default for anything
 * else; the agent also gets the bundle namespace in BundlePolicy, so it can correct a custom
 * cluster-scoped kind with discovery.
 */
const CLUSTER_SCOPED: Readonly<Record<string, readonly string[]>> = {
  "": ["Namespace", "Node", "PersistentVolume", "ComponentStatus"],
  "admissionregistration.k8s.io": [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
  ],
  "apiextensions.k8s.io": ["CustomResourceDefinition"],
  "apiregistration.k8s.io": ["APIService"],
  "certificates.k8s.io": ["CertificateSigningRequest", "ClusterTrustBundle"],
  "flowcontrol.apiserver.k8s.io": ["FlowSchema", "PriorityLevelConfiguration"],
  "networking.k8s.io": ["IngressClass", "IPAddress", "ServiceCIDR"],
  "node.k8s.io": ["RuntimeClass"],
  "rbac.authorization.k8s.io": ["ClusterRole", "ClusterRoleBinding"],
  "resource.k8s.io": ["DeviceClass", "ResourceSlice"],
  "scheduling.k8s.io": ["PriorityClass"],
  "storage.k8s.io": ["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"],
};

/** The API group of an apiVersion: "apps" for "apps/v1", "" for "v1". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** True for the well-known cluster-scoped kinds (see the list above). */
export function isClusterScoped(apiVersion: string, kind: string): boolean {
  return CLUSTER_SCOPED[groupOf(apiVersion)]?.includes(kind) ?? false;
}

/** A map key for an object identity. */
export function objectKey(id: ObjectId): string {
  return JSON.stringify([id.group, id.kind, id.namespace, id.name]);
}

/** `Deployment.apps web/api` or `Namespace web`, as kubectl would name the object. */
export function describeObject(id: ObjectId): string {
  const type = id.group === "" ? id.kind : `${id.kind}.${id.group}`;
  return id.namespace === "" ? `${type} ${id.name}` : `${type} ${id.namespace}/${id.name}`;
}
