// What each package carries, checked from its bundle without packing or installing anything.
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { packageOf } from "./bundle.js";
import { bundleProduct, manifestProblems } from "./pack.js";
import { product, products } from "./products.js";

/** Server-side packages a user of the CLI must not have to install. */
const serverPackages = ["fastify", "@fastify/swagger", "@fastify/type-provider-typebox", "@grpc/grpc-js", "@nats-io/nats-core", "@nats-io/jetstream", "@nats-io/kv", "@nats-io/transport-node", "@kubernetes/client-node", "pino", "isomorphic-git"];

void describe("the packages' contents", () => {
  void it("the CLI is one file with the API client and render, and no server code: no fastify, NATS or gRPC", async () => {
    const built = await bundleProduct(product("gitfleet"), false);
    assert.deepEqual(built.external, [], "the CLI's bundle imports no npm package at run time");
    const carried = [...built.inlined.keys()].sort();
    for (const name of serverPackages) assert.ok(!carried.includes(name), `the CLI carries ${name}: ${carried.join(", ")}`);
    assert.deepEqual(carried, ["@bufbuild/protobuf", "yaml"], "render needs YAML and the payload's protobuf messages, nothing else");
    assert.match(built.code, /^#!\/usr\/bin\/env node\n/, "the bin file starts with its shebang");
    assert.ok(built.code.length < 1024 * 1024, `the CLI stays small (${built.code.length} bytes)`);
  });

  void it("each package's manifest depends on exactly the npm packages its bundle imports, with the workspaces' ranges", async () => {
    for (const p of products) assert.deepEqual(await manifestProblems(p, await bundleProduct(p, false)), [], p.name);
  });

  void it("the hub's and the agent's bundles hold their own code and import their npm dependencies", async () => {
    for (const name of ["gitfleet-hub", "gitfleet-agent"] as const) {
      const built = await bundleProduct(product(name), false);
      assert.deepEqual([...built.inlined.keys()], [], `${name} inlines no npm package`);
      assert.ok(!built.external.some((e) => e.startsWith("@gitfleet/")), `${name} has the workspaces inside, not as imports`);
      assert.ok(built.external.includes("@grpc/grpc-js"), `${name} imports grpc-js`);
    }
    assert.equal(packageOf("@bufbuild/protobuf/wkt"), "@bufbuild/protobuf");
    assert.equal(packageOf("yaml/util"), "yaml");
  });
});
