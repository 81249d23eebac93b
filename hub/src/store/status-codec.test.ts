import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { DriftState, StatusReportSchema, toBinary } from "@gitfleet/proto";
import { HubError } from "../errors.js";
import { testBundle, testReport, testResource } from "../test-support/status-reports.js";
import { decodeStatus, encodeStatus, plainStatusBytes } from "./status-codec.js";

const bigReport = (objects: number) =>
  testReport([
    testBundle(
      "big",
      Array.from({ length: objects }, (_, i) =>
        testResource({
          kind: "ConfigMap",
          name: `object-${i}-${Math.random().toString(36).slice(2)}`,
          ...(i === 0 ? { state: DriftState.DRIFTED, fields: [["/data/x", '"a"', '"b"', "kubectl"]] } : {}),
        }),
      ),
    ),
  ]);

void describe("stored statuses", () => {
  void test("are gzipped protobuf that decodes to the same report", () => {
    const report = bigReport(200);
    const { bytes } = encodeStatus("c1", report);
    assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b]);
    assert.ok(bytes.byteLength < toBinary(StatusReportSchema, report).byteLength / 2);
    assert.deepEqual(decodeStatus(bytes), report);
  });

  void test("are stored plain when small: compressing them would cost more than it saves", () => {
    const report = bigReport(1);
    const plain = toBinary(StatusReportSchema, report);
    assert.ok(plain.byteLength <= plainStatusBytes, `a one-object report is ${plain.byteLength} bytes`);
    const { bytes } = encodeStatus("c1", report);
    assert.deepEqual(bytes, plain);
    assert.deepEqual(decodeStatus(bytes), report);
    // Just above the threshold it is gzipped again.
    let objects = 1;
    while (toBinary(StatusReportSchema, bigReport(objects)).byteLength <= plainStatusBytes) objects++;
    assert.deepEqual([...encodeStatus("c1", bigReport(objects)).bytes.subarray(0, 2)], [0x1f, 0x8b]);
  });

  void test("written plain by an older hub still decode", () => {
    const report = bigReport(3);
    assert.deepEqual(decodeStatus(toBinary(StatusReportSchema, report)), report);
  });

  void test("that do not fit leave out in-sync, healthy objects, counted, and keep the drift", () => {
    const report = bigReport(2000);
    const { bytes, report: stored } = encodeStatus("c1", report, 8 * 1024);
    assert.ok(bytes.byteLength <= 8 * 1024);
    const bundle = stored.bundles[0];
    assert.equal(bundle?.resources.length, 1);
    assert.equal(bundle?.resources[0]?.driftState, DriftState.DRIFTED);
    assert.equal(bundle?.omittedResources, 1999);
    assert.equal(bundle?.resourceCount, 2000, "counts stay exact");
    assert.deepEqual(decodeStatus(bytes), stored);
  });

  void test("that do not fit even then are refused with the cluster named", () => {
    assert.throws(() => encodeStatus("c1", bigReport(10), 20), (err: unknown) => err instanceof HubError && /status of cluster c1/.test(err.message));
  });
});
