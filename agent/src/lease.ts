// The coordination.k8s.io/v1 Lease the agent's replicas elect a leader with: read, create and
// replace with the resourceVersion as a precondition, so two candidates can never both win.
import { KubeApiError } from "./errors.js";
import { KubeApi, toKubeApiError } from "./kube-client.js";
import type { KubeConfigLike } from "./kube-config.js";
import { kubeTransport } from "./kube-http.js";
import { asRecord, asString } from "./kube-objects.js";
import type { KubeObject } from "./kube-objects.js";

/** What a Lease's spec says about its holder. Times are ms since the epoch (0 when unset). */
export interface LeaseRecord {
  /** The holder's identity; "" when the lease was released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number;
  renewTime: number;
  leaseTransitions: number;
}

/** A Lease as read from the API server. */
export interface StoredLease {
  record: LeaseRecord;
  /** Precondition of the next {@link LeaseClient.replace}. */
  resourceVersion: string;
}

/**
 * One named Lease. Losing a race surfaces as a {@link KubeApiError} with status 409 (create of
 * an existing lease, replace with a stale resourceVersion).
 */
export interface LeaseClient {
  /** Which Lease, as "namespace/name", for messages. */
  readonly where: string;
  /** The lease; undefined when it does not exist. */
  get(): Promise<StoredLease | undefined>;
  create(record: LeaseRecord): Promise<StoredLease>;
  replace(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/** Options of {@link createLeaseClient}. */
export interface LeaseClientOptions {
  kubeConfig: KubeConfigLike;
  namespace: string;
  name: string;
  /** Per-request timeout; a renewal must not wait longer than its deadline. Default 5 s. */
  requestTimeoutMs?: number;
}

/** Creates a {@link LeaseClient} on the Kubernetes API. */
export function createLeaseClient(options: LeaseClientOptions): LeaseClient {
  const api = new KubeApi(kubeTransport(options.kubeConfig));
  api.timeoutMs = options.requestTimeoutMs ?? 5_000;
  const where = `${options.namespace}/${options.name}`;
  const what = `Lease ${where}`;
  const header: KubeObject = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: options.name, namespace: options.namespace },
  };
  const body = (record: LeaseRecord, resourceVersion?: string): KubeObject => ({
    ...header,
    metadata: { ...header.metadata, ...(resourceVersion ? { resourceVersion } : {}), labels: { "app.kubernetes.io/managed-by": "gitfleet-agent" } },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      ...(record.acquireTime ? { acquireTime: microTime(record.acquireTime) } : {}),
      ...(record.renewTime ? { renewTime: microTime(record.renewTime) } : {}),
      leaseTransitions: record.leaseTransitions,
    },
  });
  const call = async (run: () => Promise<unknown>): Promise<StoredLease> => {
    try {
      return parseLease(await run());
    } catch (error) {
      throw toKubeApiError(error, what);
    }
  };
  return {
    where,
    async get() {
      try {
        return await call(() => api.send(header, "read"));
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) return undefined;
        throw error;
      }
    },
    create: (record) =>
      call(() =>
        api.send(header, "create", { body: JSON.stringify(body(record)) }),
      ),
    replace: (record, resourceVersion) =>
      call(() =>
        api.send(header, "replace", { body: JSON.stringify(body(record, resourceVersion)) }),
      ),
  };
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits, which the API server requires. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function parseLease(value: unknown): StoredLease {
  const object = asRecord(value);
  const spec = asRecord(object?.["spec"]);
  const time = (key: string): number => {
    const parsed = Date.parse(asString(spec?.[key]));
    return Number.isFinite(parsed) ? parsed : 0;
  };
  return {
    record: {
      holderIdentity: asString(spec?.["holderIdentity"]),
      leaseDurationSeconds: Number(spec?.["leaseDurationSeconds"]) || 0,
      acquireTime: time("acquireTime"),
      renewTime: time("renewTime"),
      leaseTransitions: Number(spec?.["leaseTransitions"]) || 0,
    },
    resourceVersion: asString(asRecord(object?.["metadata"])?.["resourceVersion"]),
  };
}
