// The gitfleet contract has only unary and bidi RPCs; this covers the bridge's other two kinds
// with a service descriptor built at runtime from the gitfleet/v1 messages.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { create, createFileRegistry } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv1";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Server, ServerCredentials, credentials, status } from "@grpc/grpc-js";
import { HeartbeatSchema, ResyncSchema, file_gitfleet_v1_agent } from "./gen/gitfleet/v1/agent_pb.js";
import type { Heartbeat } from "./gen/gitfleet/v1/agent_pb.js";
import { addService, createServiceDefinition } from "./grpc-bridge.js";
import { createClient } from "./grpc-client.js";
import type { ServiceClient } from "./grpc-client.js";
import { RpcError } from "./rpc-error.js";

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "gitfleet/test/v1/streams.proto",
    package: "gitfleet.test.v1",
    syntax: "proto3",
    dependency: ["gitfleet/v1/agent.proto"],
    service: [
      {
        name: "StreamService",
        method: [
          { name: "Watch", inputType: ".gitfleet.v1.Resync", outputType: ".gitfleet.v1.Heartbeat", serverStreaming: true },
          { name: "Collect", inputType: ".gitfleet.v1.Heartbeat", outputType: ".gitfleet.v1.Resync", clientStreaming: true },
        ],
      },
    ],
  }),
  (name) => (name === file_gitfleet_v1_agent.name + ".proto" ? file_gitfleet_v1_agent : undefined),
);

const StreamService = registry.getService("gitfleet.test.v1.StreamService") as unknown as GenService<{
  watch: { methodKind: "server_streaming"; input: typeof ResyncSchema; output: typeof HeartbeatSchema };
  collect: { methodKind: "client_streaming"; input: typeof HeartbeatSchema; output: typeof ResyncSchema };
}>;

describe("grpc bridge, server and client streaming", () => {
  const server = new Server();
  let client: ServiceClient<typeof StreamService>;

  before(async () => {
    addService(server, StreamService, {
      async watch(request, call) {
        if (request.reason === "deny") throw new RpcError(status.PERMISSION_DENIED, "not your bundles");
        for (const [index, bundle] of request.bundles.entries()) {
          call.write({ observedRevision: bundle, observedGeneration: BigInt(index) });
        }
        await Promise.resolve();
      },
      async collect(call) {
        const revisions: string[] = [];
        for await (const heartbeat of call) revisions.push(heartbeat.observedRevision);
        if (revisions.includes("bad")) throw new RpcError(status.INVALID_ARGUMENT, "heartbeat 'bad' is not a revision");
        return { reason: "collected", bundles: revisions };
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    client = createClient(StreamService, `127.0.0.1:${String(port)}`, credentials.createInsecure());
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  it("marks the stream directions in the definition", () => {
    const definition = createServiceDefinition(StreamService);
    assert.equal(definition.watch?.path, "/gitfleet.test.v1.StreamService/Watch");
    assert.deepEqual([definition.watch?.requestStream, definition.watch?.responseStream], [false, true]);
    assert.deepEqual([definition.collect?.requestStream, definition.collect?.responseStream], [true, false]);
  });

  it("streams responses and ends with OK when the handler resolves", async () => {
    const received: Heartbeat[] = [];
    for await (const heartbeat of client.watch({ bundles: ["a", "b", "c"] })) received.push(heartbeat);
    assert.deepStrictEqual(
      received,
      ["a", "b", "c"].map((revision, index) => create(HeartbeatSchema, { observedRevision: revision, observedGeneration: BigInt(index) })),
    );
  });

  it("ends a server stream with the handler's status", async () => {
    const stream = client.watch({ reason: "deny" });
    const error = await new Promise<unknown>((resolve) => stream.once("error", resolve));
    assert.equal((error as { code: number }).code, status.PERMISSION_DENIED);
  });

  it("collects a client stream into one response", async () => {
    const { call, response } = client.collect();
    call.write({ observedRevision: "r1" });
    call.write(create(HeartbeatSchema, { observedRevision: "r2" }));
    call.end();
    assert.deepStrictEqual(await response, create(ResyncSchema, { reason: "collected", bundles: ["r1", "r2"] }));
  });

  it("rejects a client stream's response with the handler's status", async () => {
    const { call, response } = client.collect();
    call.write({ observedRevision: "bad" });
    call.end();
    await assert.rejects(response, (error: unknown) => error instanceof RpcError && error.code === status.INVALID_ARGUMENT);
  });

  it("refuses an implementation that misses a method", () => {
    const incomplete = { watch: () => Promise.resolve() } as unknown as Parameters<typeof addService<typeof StreamService>>[2];
    assert.throws(() => addService(new Server(), StreamService, incomplete), /no handler for Collect/);
  });
});
