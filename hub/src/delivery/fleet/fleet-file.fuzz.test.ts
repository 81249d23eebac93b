// Fuzzes fleet.yaml, the file every writer of the fleet repository controls: random text, YAML
// documents built from fleet.yaml's own field names, and mutations of the fixtures' fleet files.
// Property: parseFleetFile gives back a FleetSpec or throws FleetFileError whose every issue says
// what is wrong; a spec it accepts targets any cluster without throwing.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { FleetFileError } from "../errors.js";
import { fixtureFiles, fuzzSync, keyedValue, mutatedText, refusesTyped } from "../../test-support/fuzz.js";
import { parseFleetFile } from "./fleet-file.js";
import { targetsFor } from "./targeting.js";

const FIELDS = [
  "apiVersion", "kind", "bundles", "pipelines", "name", "path", "namespace", "targets", "clusterSelector", "matchLabels",
  "matchExpressions", "key", "operator", "values", "drift", "ignore", "prune", "substitute", "allowEmpty", "overlay",
  "variables", "stages", "target", "promote", "images", "fields", "files", "gates", "auto", "rollback", "verifyTimeout",
  "healthy", "noDrift", "soak", "minClusters", "paths", "group", "In", "NotIn", "Exists", "DoesNotExist", "correct", "report",
];

const cluster = fc.record({
  id: fc.constant("c1"),
  name: fc.constantFrom("prod-eu-1", "staging", "x"),
  labels: fc.dictionary(fc.constantFrom("env", "region", "tier", "a.b/c"), fc.constantFrom("prod", "staging", "eu", "us", "")),
});

function checkFleet(text: string, labels: { id: string; name: string; labels: Record<string, string> }): void {
  const fleet = refusesTyped(() => parseFleetFile(text), [FleetFileError]);
  if (fleet === undefined) {
    try {
      parseFleetFile(text);
    } catch (err) {
      for (const issue of (err as FleetFileError).issues) assert.ok(issue.message.length > 0, "an issue without a message");
    }
    return;
  }
  targetsFor(fleet, labels);
}

const fixtures = ["demo-fleet", "plain-fleet", "events-fleet"].map((name) => new TextDecoder().decode(fixtureFiles(name).get("fleet.yaml")));

void test("fleet.yaml: random text", () =>
  fuzzSync(fc.property(fc.string({ unit: "binary", maxLength: 400 }), cluster, (text, c) => checkFleet(text, c))));

void test("fleet.yaml: documents of fleet.yaml's fields with random values", () =>
  fuzzSync(
    fc.property(
      fc.record({
        apiVersion: fc.constantFrom("gitfleet.dev/v1", "v1", ""),
        kind: fc.constantFrom("Fleet", "fleet"),
        bundles: fc.array(keyedValue(FIELDS, 4), { maxLength: 4 }),
        pipelines: fc.option(fc.array(keyedValue(FIELDS, 4), { maxLength: 2 }), { nil: undefined }),
      }),
      cluster,
      (doc, c) => checkFleet(stringify(doc), c),
    ),
  ));

void test("fleet.yaml: mutations of the fixtures' fleet files", () =>
  fuzzSync(
    fc.property(
      fc.constantFrom(...fixtures).chain((text) => mutatedText(text)),
      cluster,
      (text, c) => checkFleet(text, c),
    ),
  ));
