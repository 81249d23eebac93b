// Arbitrary protobuf messages of any gitfleet/v1 schema, built from its descriptor so a new field
// is fuzzed without touching the fuzzers. Strings lean toward values the code looks for (names,
// ids, kinds, digests, JSON pointers) so that arbitrary messages reach past the first check.
import { create, ScalarType, type DescField, type DescMessage, type DescEnum, type MessageShape } from "@bufbuild/protobuf";
import fc from "fast-check";

const plausible = fc.constantFrom(
  "", "web", "prod-eu-1", "staging", "c0123456789abcdefghij", "cq3v7tbd2kx5mfw6hz4ay", "v1", "apps/v1", "Deployment", "ConfigMap",
  "default", "/spec/replicas", "/metadata/labels/x", "0.1.0", "v1.36.0", "a".repeat(64), "0".repeat(40), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "kubectl-edit", "Ready", "True", "gf_agt_x", "gf_reg_x", "UA", "x".repeat(5000), "\u0000", "../..", "${x}",
);
const text = fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 2, arbitrary: fc.string({ maxLength: 24 }) });

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return text;
    case ScalarType.BYTES:
      return fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.constant(new Uint8Array(64)), fc.constant(new Uint8Array(32)));
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -5n, max: 100n }));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 100n }));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.nat(10));
    default:
      return fc.oneof(fc.integer(), fc.integer({ min: -3, max: 10 }));
  }
}

function enumValue(desc: DescEnum): fc.Arbitrary<number> {
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...desc.values.map((v) => v.number)) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 1000 }) });
}

function single(field: DescField, kind: "scalar" | "enum" | "message", depth: number): fc.Arbitrary<unknown> {
  if (kind === "enum" && field.enum) return enumValue(field.enum);
  if (kind === "message" && field.message) return messageInit(field.message, depth - 1);
  return scalar(field.scalar ?? ScalarType.STRING);
}

function fieldValue(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "list":
      return fc.array(single(field, field.listKind, depth), { maxLength: depth > 0 ? 4 : 0 });
    case "map":
      return fc.dictionary(fc.oneof(plausible, fc.string({ maxLength: 8 })), single(field, field.mapKind, depth), { maxKeys: depth > 0 ? 4 : 0 });
    case "message":
      return depth > 0 ? messageInit(field.message, depth - 1) : fc.constant(undefined);
    case "enum":
      return enumValue(field.enum);
    default:
      return scalar(field.scalar);
  }
}

/** An init object for `desc`: each field set or left out, one case (or none) of each oneof. */
function messageInit(desc: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const plain = desc.fields.filter((f) => f.oneof === undefined);
  const fields = fc.record(Object.fromEntries(plain.map((f) => [f.localName, fieldValue(f, depth)])), { requiredKeys: [] });
  const oneofs = desc.oneofs.map((o) =>
    fc.oneof(fc.constant(undefined), ...o.fields.map((f) => fieldValue(f, depth).map((value) => ({ case: f.localName, value })))).map((value) => [o.localName, value] as const),
  );
  return fc.tuple(fields, fc.tuple(...oneofs)).map(([record, cases]) => {
    const init: Record<string, unknown> = { ...record };
    for (const [name, value] of cases) if (value !== undefined) init[name] = value;
    return init;
  });
}

/** Arbitrary messages of `schema`, nested at most `depth` messages deep. */
export function arbitraryMessage<Desc extends DescMessage>(schema: Desc, depth = 4): fc.Arbitrary<MessageShape<Desc>> {
  return messageInit(schema, depth).map((init) => create(schema, init as never));
}
