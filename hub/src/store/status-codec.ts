// How a cluster's whole status is stored in gitfleet_status: the StatusReport's protobuf bytes,
// gzipped unless they are small, kept below NATS' max payload (docs/protocol.md, "JetStream layout"). Every replica
// also keeps these compressed bytes in memory and decodes a report only when it is read.
import { gunzipSync, gzipSync } from "node:zlib";
import {
  DriftState,
  fromBinary,
  HealthState,
  NATS_MAX_PAYLOAD_BYTES,
  StatusReportSchema,
  SyncState,
  toBinary,
  type ResourceStatus,
  type StatusReport,
} from "@gitfleet/proto";
import { HubError } from "../errors.js";

/** Largest stored value: NATS' default max payload less room for the message's headers. */
export const maxStoredStatusBytes = NATS_MAX_PAYLOAD_BYTES - 16 * 1024;

/** Statuses up to this size (protobuf bytes) are stored uncompressed. */
export const plainStatusBytes = 1024;

// A stored status inflates to at most this much; a value that claims more is refused, not inflated.
const maxInflatedBytes = 256 * 1024 * 1024;

// gzip data starts with 0x1f 0x8b. No StatusReport encoding starts with 0x1f (field 3 with the
// invalid wire type 7), so values written before compression still decode as plain protobuf.
const isGzip = (bytes: Uint8Array): boolean => bytes[0] === 0x1f && bytes[1] === 0x8b;

/** A status as stored: the bytes and the report they hold (with resources left out to fit, if any). */
export interface EncodedStatus {
  bytes: Uint8Array;
  report: StatusReport;
}

/**
 * Encodes a whole status for the bucket. A status that does not fit even compressed leaves out
 * the resources that are in sync and healthy, as the agent does on the wire: they are counted in
 * `omitted_resources`, and every count stays exact. Throws HubError when even that does not fit.
 */
export function encodeStatus(clusterId: string, report: StatusReport, maxBytes: number = maxStoredStatusBytes): EncodedStatus {
  const plain = toBinary(StatusReportSchema, report);
  // A small status gains next to nothing from gzip and costs a compression per report and a
  // decompression per read: it is stored as it is (decodeStatus tells the two apart).
  if (plain.byteLength <= plainStatusBytes && plain.byteLength <= maxBytes) return { bytes: plain, report };
  const bytes = gzipSync(plain);
  if (bytes.byteLength <= maxBytes) return { bytes, report };
  const bounded = withoutQuietResources(report);
  const smaller = gzipSync(toBinary(StatusReportSchema, bounded));
  if (smaller.byteLength <= maxBytes) return { bytes: smaller, report: bounded };
  throw new HubError(
    "failed-precondition",
    `the status of cluster ${clusterId} is ${smaller.byteLength} bytes compressed even without its in-sync resources, ` +
      `more than the ${maxBytes} bytes a status may take in JetStream; the agent keeps the full list`,
  );
}

/** Decodes a stored status (gzipped or, when written by an older hub, plain protobuf). */
export function decodeStatus(bytes: Uint8Array): StatusReport {
  const raw = isGzip(bytes) ? gunzipSync(bytes, { maxOutputLength: maxInflatedBytes }) : bytes;
  return fromBinary(StatusReportSchema, raw);
}

function quiet(r: ResourceStatus): boolean {
  return r.sync === SyncState.SYNCED && r.health === HealthState.HEALTHY && r.driftState === DriftState.IN_SYNC;
}

function withoutQuietResources(report: StatusReport): StatusReport {
  return {
    ...report,
    bundles: report.bundles.map((bundle) => {
      const kept = bundle.resources.filter((r) => !quiet(r));
      return { ...bundle, resources: kept, omittedResources: bundle.omittedResources + bundle.resources.length - kept.length };
    }),
  };
}
