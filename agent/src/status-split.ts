// How a status report travels: whole on a new stream, then only what changed, and never in a
// message larger than the bound (docs/protocol.md, "Status on the wire").
import { createHash } from "node:crypto";
import { StatusReportSchema, create, toBinary } from "@gitfleet/proto";
import type { BundleStatus, StatusReport } from "@gitfleet/proto";
import { bundleFingerprint } from "./status.js";

/** Largest status message the agent sends, encoded. */
export const MAX_STATUS_MESSAGE_BYTES = 256 * 1024;

/** The messages to send, and what the hub knows once they are sent. */
export interface StatusDelta {
  messages: StatusReport[];
  sent: { header: string; bundles: Map<string, string> };
}

/**
 * The messages that bring the hub from `sent` (undefined on a new stream) to `status`: none when
 * nothing changed; otherwise a report with the changed bundles (whole, on a new stream),
 * split into several when they do not fit one message.
 */
export function splitStatus(status: StatusReport, sent: StatusDelta["sent"] | undefined): StatusDelta {
  const header = headerFingerprint(status);
  const bundles = new Map(status.bundles.map((b) => [b.name, bundleFingerprint(b)]));
  const next = { header, bundles };
  const changed = sent ? status.bundles.filter((b) => sent.bundles.get(b.name) !== bundles.get(b.name)) : status.bundles;
  const removed = sent ? [...sent.bundles.keys()].filter((name) => !bundles.has(name)) : [];
  if (sent && changed.length === 0 && removed.length === 0 && sent.header === header) return { messages: [], sent: next };

  const messages: StatusReport[] = [];
  let batch: BundleStatus[] = [];
  const flush = (): void => {
    const first = messages.length === 0;
    messages.push(
      create(StatusReportSchema, {
        ...status,
        bundles: batch,
        // A new stream starts whole; everything after the first message adds to it.
        partial: sent !== undefined || !first,
        removedBundles: first ? removed : [],
      }),
    );
    batch = [];
  };
  const base = toBinary(StatusReportSchema, create(StatusReportSchema, { ...status, bundles: [], removedBundles: removed })).length;
  let size = base;
  for (const bundle of changed) {
    const bytes = toBinary(StatusReportSchema, create(StatusReportSchema, { bundles: [bundle] })).length;
    if (batch.length > 0 && size + bytes > MAX_STATUS_MESSAGE_BYTES) {
      flush();
      size = base;
    }
    batch.push(bundle);
    size += bytes;
  }
  if (batch.length > 0 || messages.length === 0) flush();
  return { messages, sent: next };
}

function headerFingerprint(status: StatusReport): string {
  const header = create(StatusReportSchema, { ...status, bundles: [], reportedAt: undefined });
  return createHash("sha256").update(toBinary(StatusReportSchema, header)).digest("hex");
}
