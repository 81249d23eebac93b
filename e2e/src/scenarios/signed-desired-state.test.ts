// Attack: whoever can write into a cluster's key space in NATS (a leaked hub NATS credential, a
// misconfigured account) tries to make its agent apply something the hub never published. End
// to end on the lab (NATS, Git server, kube-apiserver, hub, agent), with the hub's own NATS user
// (unrestricted in the lab): an unsigned pointer, a badly signed one, one signed by a key the
// agent does not trust, a replay of an older validly signed one, and one validly signed for
// another cluster are each refused; the refusal shows in the hub API, and the cluster keeps its
// last good state. Then the hub's signing key is rotated: the new key reaches the agent, a new
// commit signed by it is applied, and once the old key is retired a pointer it signs is refused.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  BundlePayloadSchema,
  DesiredStateSchema,
  create,
  encodeBundlePayload,
  encodeSignedDesiredState,
  fromBinary,
  generateDesiredSigningKey,
  toBinary,
  type DesiredSigningKey,
  type DesiredState,
} from "@gitfleet/proto";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { kubeConfigFor, readObject } from "../kube-client.js";
import { waitFor } from "../lab/process.js";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { skipUnlessTool } from "../lab/skip.js";

const apiserver = process.env["GITFLEET_KUBE_APISERVER_BIN"];

const seedFiles: Record<string, string> = {
  "fleet.yaml": "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: app\n    path: app\n",
  "app/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n",
  "app/settings.yaml": settings("hello"),
};

function settings(greeting: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: app\ndata:\n  greeting: ${greeting}\n`;
}

interface ClusterDetail {
  id: string;
  observedGeneration: number;
  conditions: { type: string; status: string; reason: string; message: string }[];
}
interface StoredKey extends DesiredSigningKey {
  endorsedBy: string;
}
type ConfigMap = KubernetesObject & { data?: Record<string, string> };

describe("desired state is signed, and the agent applies nothing else", { timeout: 900_000, skip: skipUnlessTool(apiserver ? false : "GITFLEET_KUBE_APISERVER_BIN is not set (npm test sets it)") }, () => {
  let fleet: Fleet;
  let seed: string;
  let nc: NatsConnection;
  let desired: KV;
  let hubKv: KV;
  let clusterId: string;
  let pointerKey: string;

  const greeting = async (): Promise<string | undefined> =>
    (await readObject<ConfigMap>(kubeConfigFor(fleet.cluster("lab-1")), { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "app" } }))?.data?.["greeting"];
  const verified = async (): Promise<ClusterDetail["conditions"][number] | undefined> =>
    (await fleet.api.get<ClusterDetail>("/clusters/lab-1")).conditions.find((c) => c.type === "DesiredStateVerified");
  const currentPointer = async (): Promise<{ bytes: Uint8Array; state: DesiredState }> => {
    const entry = await desired.get(pointerKey);
    assert.ok(entry && entry.operation === "PUT", "the cluster has a pointer");
    return { bytes: entry.value, state: fromBinary(DesiredStateSchema, entry.value) };
  };
  const storedKeys = async (): Promise<{ active: string; keys: StoredKey[] }> => {
    const entry = await hubKv.get("desired-signing-keys");
    assert.ok(entry, "the hub stores its signing keys in gitfleet_hub");
    return JSON.parse(entry.string()) as { active: string; keys: StoredKey[] };
  };
  const pinnedKeys = async (): Promise<string[]> => {
    const secret = await readObject<KubernetesObject & { data?: Record<string, string> }>(kubeConfigFor(fleet.cluster("lab-1")), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "gitfleet-agent-identity", namespace: "gitfleet-system" },
    });
    const identity = JSON.parse(Buffer.from(secret?.data?.["identity.json"] ?? "", "base64").toString("utf8")) as {
      identity: { desiredStateKeys?: { id: string }[] };
    };
    return (identity.identity.desiredStateKeys ?? []).map((k) => k.id).sort();
  };

  /**
   * A pointer (with real chunks) that would set the greeting to `value` if the agent took it:
   * what an attacker who can write the key space would publish.
   */
  const forged = async (value: string, generation: bigint): Promise<DesiredState> => {
    const objects = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "app" } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "app" }, data: { greeting: value } },
    ].map((o) => new TextEncoder().encode(JSON.stringify(o)));
    const payload = await encodeBundlePayload(create(BundlePayloadSchema, { name: "app", objects, policy: { prune: false } }));
    for (const [index, part] of payload.chunks.entries()) await desired.put(`${clusterId}.bundles.app.${payload.digest}.${index}`, part);
    const { state } = await currentPointer();
    return create(DesiredStateSchema, {
      revision: state.revision,
      generation,
      bundles: [{ name: "app", digest: payload.digest, chunks: payload.chunks.length, size: BigInt(payload.size), revision: state.revision }],
    });
  };

  /** Writes `bytes` as the pointer and waits for the agent to refuse it with `reason`, through the hub API. */
  const refused = async (bytes: Uint8Array, reason: string, message: RegExp): Promise<void> => {
    await desired.put(pointerKey, bytes);
    const condition = await waitFor(
      async () => {
        const c = await verified();
        return c?.status === "false" && c.reason === reason ? c : undefined;
      },
      { what: `the hub API showing DesiredStateVerified=False with reason ${reason}`, timeoutMs: 60_000 },
    );
    assert.match(condition.message, message);
    assert.match(condition.message, /enforcing the last good state/);
  };

  /** Puts back a genuine pointer (the one held) and waits for the agent to accept it again. */
  const restore = async (genuine: Uint8Array): Promise<void> => {
    await desired.put(pointerKey, genuine);
    await waitFor(async () => ((await verified())?.status === "true" ? true : undefined), { what: "DesiredStateVerified=True again", timeoutMs: 60_000 });
  };

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-signed-seed-"));
    for (const [path, content] of Object.entries(seedFiles)) {
      await mkdir(dirname(join(seed, path)), { recursive: true });
      await writeFile(join(seed, path), content);
    }
    fleet = await startFleet({ clusters: ["lab-1"], seed });
    const token = await fleet.api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1 });
    await fleet.startAgent("lab-1", { token: token.secret });
    await waitForSynced(fleet.api, "lab-1", await fleet.head());
    clusterId = (await fleet.api.get<ClusterDetail>("/clusters/lab-1")).id;
    pointerKey = `${clusterId}.desired`;
    // The hub's own NATS user: in the lab it may write anywhere in the hub's account.
    const creds = await readFile(fleet.lab.nats.adminCredsPath);
    nc = await connect({ servers: fleet.lab.info().nats.url, authenticator: credsAuthenticator(creds) });
    const kvm = new Kvm(nc);
    desired = await kvm.open("gitfleet_desired");
    hubKv = await kvm.open("gitfleet_hub");
  });

  after(async () => {
    await nc?.close();
    await fleet?.stop();
    if (seed) await rm(seed, { recursive: true, force: true });
  });

  test("the agent pinned the hub's key at registration and applies what it signs", async () => {
    const keys = await storedKeys();
    assert.deepEqual(await pinnedKeys(), [keys.active]);
    const { state } = await currentPointer();
    assert.equal(state.signingKeyId, keys.active);
    assert.equal(state.signature.byteLength, 64);
    assert.equal(await greeting(), "hello");
    assert.equal((await verified())?.status, "true");
  });

  test("unsigned, badly signed, untrusted-key and other-cluster pointers are refused; the cluster keeps its state", async () => {
    const genuine = await currentPointer();
    const next = genuine.state.generation + 10n;
    const keys = await storedKeys();
    const hubKey = keys.keys.find((k) => k.id === keys.active)!;

    await refused(toBinary(DesiredStateSchema, await forged("unsigned", next)), "Unsigned", /is not signed/);
    assert.equal(await greeting(), "hello");
    await restore(genuine.bytes);

    // Signed by the hub's real key, then altered: the digest now names the attacker's payload.
    const signed = fromBinary(DesiredStateSchema, encodeSignedDesiredState(genuine.state, clusterId, hubKey));
    const altered = await forged("altered", next);
    signed.bundles = altered.bundles;
    signed.generation = next;
    await refused(toBinary(DesiredStateSchema, signed), "BadSignature", /does not verify/);
    assert.equal(await greeting(), "hello");
    await restore(genuine.bytes);

    const stranger = generateDesiredSigningKey();
    await refused(encodeSignedDesiredState(await forged("stranger", next), clusterId, stranger), "UnknownKey", new RegExp(`signed by key "${stranger.id}"`));
    assert.equal(await greeting(), "hello");
    await restore(genuine.bytes);

    // A pointer the hub's key validly signed, but for another cluster.
    await refused(encodeSignedDesiredState(await forged("elsewhere", next), "cotherclusterxxxxxxxxx", hubKey), "BadSignature", new RegExp(`for cluster ${clusterId}`));
    assert.equal(await greeting(), "hello");
    await restore(genuine.bytes);
  });

  test("a replay of an older, validly signed pointer is refused", async () => {
    const old = await currentPointer();
    const sha = await fleet.commit({ "app/settings.yaml": settings("hello-again") }, "app: a newer greeting");
    await fleet.webhook();
    await waitForSynced(fleet.api, "lab-1", sha);
    assert.equal(await greeting(), "hello-again");
    const newer = await currentPointer();
    assert.ok(newer.state.generation > old.state.generation);
    await refused(old.bytes, "Replayed", new RegExp(`generation ${old.state.generation}, lower than generation ${newer.state.generation}`));
    assert.equal(await greeting(), "hello-again");
    await restore(newer.bytes);
  });

  test("rotation: the new key reaches the agent, its commits apply, and the retired key's pointers are refused", async () => {
    const before = await storedKeys();
    const oldKey = before.keys.find((k) => k.id === before.active)!;
    const rotation = await fleet.api.post<{ key: { id: string; endorsedBy: string }; resigned: number }>("/signing-keys/rotate", {});
    assert.equal(rotation.key.endorsedBy, oldKey.id);
    assert.ok(rotation.resigned >= 1, "the cluster's pointer was re-signed");
    const listed = await fleet.api.get<{ items: { id: string; active: boolean }[] }>("/signing-keys");
    assert.deepEqual(listed.items.map((k) => [k.id, k.active]), [[oldKey.id, false], [rotation.key.id, true]]);
    await waitFor(async () => ((await pinnedKeys()).includes(rotation.key.id) ? true : undefined), { what: "the agent pinning the new key", timeoutMs: 60_000 });

    const sha = await fleet.commit({ "app/settings.yaml": settings("rotated") }, "app: delivered under the new key");
    await fleet.webhook();
    await waitForSynced(fleet.api, "lab-1", sha);
    assert.equal(await greeting(), "rotated");
    assert.equal((await currentPointer()).state.signingKeyId, rotation.key.id);
    assert.equal((await verified())?.status, "true");

    await fleet.api.delete(`/signing-keys/${oldKey.id}`);
    await waitFor(async () => ((await pinnedKeys()).join() === rotation.key.id ? true : undefined), { what: "the agent dropping the retired key", timeoutMs: 60_000 });
    const { state } = await currentPointer();
    await refused(encodeSignedDesiredState(await forged("retired", state.generation + 1n), clusterId, oldKey), "UnknownKey", new RegExp(oldKey.id));
    assert.equal(await greeting(), "rotated");
  });
});
