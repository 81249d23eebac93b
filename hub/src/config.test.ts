import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeUser, fmtCreds } from "@nats-io/jwt";
import { createAccount, createOperator, createUser } from "@nats-io/nkeys";
import { ConfigError, HelpRequested, loadConfig, VersionRequested } from "./config.js";
import { sha256Hex } from "./secrets.js";

const account = createAccount().getPublicKey();
const signingSeed = new TextDecoder().decode(createAccount().getSeed());
const base = {
  GITFLEET_NATS_URL: "nats://127.0.0.1:4222",
  GITFLEET_NATS_ACCOUNT: account,
  GITFLEET_NATS_ACCOUNT_SIGNING_SEED: signingSeed,
};

function configError(message: RegExp) {
  return (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes("\n");
}

void describe("hub configuration", () => {
  void it("has working defaults", async () => {
    const config = await loadConfig(base, []);
    assert.equal(config.httpAddress, "127.0.0.1:8080");
    assert.equal(config.grpcAddress, "127.0.0.1:9090");
    assert.equal(config.credentialTtlMs, 3_600_000);
    assert.equal(config.heartbeatIntervalSeconds, 15);
    assert.deepEqual(config.agentNatsServers, ["nats://127.0.0.1:4222"]);
    assert.deepEqual(config.apiTokens, []);
    assert.equal(config.git, undefined);
    assert.equal(config.kustomize, "kustomize", "kustomize is looked up on PATH by default");
  });

  void it("reads the agents account, its scoped signing key and the revocation settings", async () => {
    const agents = createAccount().getPublicKey();
    const agentSeed = new TextDecoder().decode(createAccount().getSeed());
    const operatorSeed = new TextDecoder().decode(createOperator().getSeed());
    const dir = await mkdtemp(join(tmpdir(), "gitfleet-config-"));
    try {
      await writeFile(join(dir, "system.creds"), "SYSTEM CREDS");
      await writeFile(join(dir, "op.seed"), `${operatorSeed}\n`);
      const { GITFLEET_NATS_ACCOUNT_SIGNING_SEED: _unused, ...withoutHubSeed } = base;
      const config = await loadConfig(
        {
          ...withoutHubSeed,
          GITFLEET_NATS_AGENT_ACCOUNT: agents,
          GITFLEET_NATS_AGENT_SIGNING_SEED: agentSeed,
          GITFLEET_NATS_OPERATOR_SIGNING_SEED_FILE: join(dir, "op.seed"),
          GITFLEET_NATS_SYSTEM_CREDS: join(dir, "system.creds"),
        },
        [],
      );
      assert.deepEqual(config.agentAccount, { publicKey: agents, signingSeed: agentSeed });
      assert.deepEqual(config.natsRevocation, { operatorSigningSeed: operatorSeed, systemCreds: "SYSTEM CREDS", repushIntervalMs: 60_000 });
      const revoking = {
        ...withoutHubSeed,
        GITFLEET_NATS_AGENT_ACCOUNT: agents,
        GITFLEET_NATS_AGENT_SIGNING_SEED: agentSeed,
        GITFLEET_NATS_OPERATOR_SIGNING_SEED_FILE: join(dir, "op.seed"),
        GITFLEET_NATS_SYSTEM_CREDS: join(dir, "system.creds"),
      };
      assert.equal((await loadConfig({ ...revoking, GITFLEET_NATS_REVOCATION_REPUSH_INTERVAL: "10s" }, [])).natsRevocation?.repushIntervalMs, 10_000);
      await assert.rejects(loadConfig({ ...revoking, GITFLEET_NATS_REVOCATION_REPUSH_INTERVAL: "1s" }, []), configError(/GITFLEET_NATS_REVOCATION_REPUSH_INTERVAL must be between 5s and 1h/));
      assert.equal(config.account.signingSeed, undefined, "the hub account's seed is not needed with an agents account");
      assert.equal((await loadConfig(base, [])).agentAccount, undefined);
      await assert.rejects(loadConfig(withoutHubSeed, []), configError(/GITFLEET_NATS_ACCOUNT_SIGNING_SEED .*is required.*GITFLEET_NATS_AGENT_ACCOUNT/));
      await assert.rejects(loadConfig({ ...base, GITFLEET_NATS_AGENT_ACCOUNT: agents }, []), configError(/must be set together/));
      await assert.rejects(
        loadConfig({ ...base, GITFLEET_NATS_AGENT_ACCOUNT: agents, GITFLEET_NATS_AGENT_SIGNING_SEED: operatorSeed }, []),
        configError(/GITFLEET_NATS_AGENT_SIGNING_SEED: not an account nkey seed/),
      );
      await assert.rejects(
        loadConfig({ ...base, GITFLEET_NATS_AGENT_ACCOUNT: agents, GITFLEET_NATS_AGENT_SIGNING_SEED: agentSeed, GITFLEET_NATS_OPERATOR_SIGNING_SEED: operatorSeed }, []),
        configError(/GITFLEET_NATS_SYSTEM_CREDS must be set together/),
      );
      await assert.rejects(
        loadConfig({ ...base, GITFLEET_NATS_OPERATOR_SIGNING_SEED: operatorSeed, GITFLEET_NATS_SYSTEM_CREDS: join(dir, "system.creds") }, []),
        configError(/needs GITFLEET_NATS_AGENT_ACCOUNT/),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("reads the delivery leader lease TTL, 15s by default, and refuses one outside 3s to 5m", async () => {
    assert.equal((await loadConfig(base, [])).deliveryLeaseTtlMs, 15_000);
    assert.equal((await loadConfig({ ...base, GITFLEET_DELIVERY_LEASE_TTL: "30s" }, [])).deliveryLeaseTtlMs, 30_000);
    assert.equal((await loadConfig(base, ["--delivery-lease-ttl", "5s"])).deliveryLeaseTtlMs, 5_000);
    await assert.rejects(loadConfig({ ...base, GITFLEET_DELIVERY_LEASE_TTL: "1s" }, []), configError(/GITFLEET_DELIVERY_LEASE_TTL must be between 3s and 5m \(got 1s\)/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_DELIVERY_LEASE_TTL: "10m" }, []), configError(/GITFLEET_DELIVERY_LEASE_TTL must be between 3s and 5m/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_DELIVERY_LEASE_TTL: "soon" }, []), configError(/GITFLEET_DELIVERY_LEASE_TTL/));
  });

  void it("refuses plaintext gRPC on a non-loopback address unless GITFLEET_GRPC_ALLOW_PLAINTEXT says so", async () => {
    for (const address of ["0.0.0.0:9090", "[::]:9090", "10.1.2.3:9090", "hub.example.com:9090", ":9090"]) {
      await assert.rejects(
        loadConfig({ ...base, GITFLEET_GRPC_ADDR: address }, []),
        configError(/^refusing to serve plaintext gRPC on .* \(not a loopback address\).*GITFLEET_GRPC_TLS_CERT.*GITFLEET_GRPC_ALLOW_PLAINTEXT=true \(--grpc-allow-plaintext\)/),
        address,
      );
    }
    for (const address of ["127.0.0.1:0", "127.0.0.2:9090", "[::1]:9090", "localhost:9090"]) {
      assert.equal((await loadConfig({ ...base, GITFLEET_GRPC_ADDR: address }, [])).grpcAllowPlaintext, false, address);
    }
    const allowed = await loadConfig({ ...base, GITFLEET_GRPC_ADDR: "0.0.0.0:9090", GITFLEET_GRPC_ALLOW_PLAINTEXT: "true" }, []);
    assert.equal(allowed.grpcAllowPlaintext, true);
    assert.equal((await loadConfig({ ...base, GITFLEET_GRPC_ADDR: "0.0.0.0:9090" }, ["--grpc-allow-plaintext"])).grpcAllowPlaintext, true);
    await assert.rejects(
      loadConfig({ ...base, GITFLEET_GRPC_ADDR: "0.0.0.0:9090", GITFLEET_GRPC_ALLOW_PLAINTEXT: "false" }, []),
      configError(/refusing to serve plaintext gRPC/),
    );
    await assert.rejects(
      loadConfig({ ...base, GITFLEET_GRPC_ALLOW_PLAINTEXT: "sure" }, []),
      configError(/^GITFLEET_GRPC_ALLOW_PLAINTEXT must be true or false \(got sure\)$/),
    );
    const tls = await loadConfig({ ...base, GITFLEET_GRPC_ADDR: "0.0.0.0:9090", GITFLEET_GRPC_TLS_CERT: "/tls.crt", GITFLEET_GRPC_TLS_KEY: "/tls.key" }, []);
    assert.deepEqual(tls.grpcTls, { certPath: "/tls.crt", keyPath: "/tls.key" }, "TLS needs no flag on any address");
  });

  void it("takes the kustomize binary from GITFLEET_KUSTOMIZE or --kustomize", async () => {
    assert.equal((await loadConfig({ ...base, GITFLEET_KUSTOMIZE: "/opt/kustomize" }, [])).kustomize, "/opt/kustomize");
    assert.equal((await loadConfig({ ...base, GITFLEET_KUSTOMIZE: "/opt/kustomize" }, ["--kustomize", "kustomize-5.8"])).kustomize, "kustomize-5.8");
  });

  void it("reads tokens, git and TLS settings; flags win over the environment", async () => {
    const hash = sha256Hex("a-viewer-token-000001-0123456789ab");
    const config = await loadConfig(
      {
        ...base,
        GITFLEET_ADMIN_TOKEN: "an-admin-token-000001-0123456789ab",
        GITFLEET_VIEWER_TOKENS: `viewer:${hash},bob=another-viewer-token-2-0123456789`,
        GITFLEET_GIT_URL: "http://git.example/fleet.git",
        GITFLEET_GIT_POLL_INTERVAL: "30s",
        GITFLEET_HTTP_ADDR: "0.0.0.0:1",
        GITFLEET_NATS_PUBLIC_URL: "nats://nats.example:4222",
      },
      ["--http-addr", "127.0.0.1:18080", "--credential-ttl", "30m"],
    );
    assert.equal(config.httpAddress, "127.0.0.1:18080");
    assert.equal(config.credentialTtlMs, 1_800_000);
    assert.deepEqual(config.apiTokens.map((t) => t.role), ["admin", "viewer", "viewer"]);
    assert.deepEqual(
      config.apiTokens.map((t) => t.name),
      [`admin-${sha256Hex("an-admin-token-000001-0123456789ab").slice(0, 8)}`, `viewer-${hash.slice(0, 8)}`, "bob"],
    );
    await assert.rejects(
      loadConfig({ ...base, GITFLEET_ADMIN_TOKEN: "alice=an-admin-token-000001-0123456789ab", GITFLEET_VIEWER_TOKENS: "alice=a-viewer-token-000001-0123456789ab" }),
      /two tokens are named alice; give each its own name/,
    );
    assert.deepEqual(config.git, { url: "http://git.example/fleet.git", branch: "main", pollIntervalMs: 30_000 });
    assert.deepEqual(config.agentNatsServers, ["nats://nats.example:4222"]);
  });

  void it("learns the account from the hub's own creds when GITFLEET_NATS_ACCOUNT is unset", async () => {
    const app = createAccount();
    const signer = createAccount();
    const user = createUser();
    const jwt = await encodeUser("hub", user, app.getPublicKey(), {}, { signer });
    const dir = await mkdtemp(join(tmpdir(), "gitfleet-config-"));
    try {
      const path = join(dir, "hub.creds");
      await writeFile(path, fmtCreds(jwt, user));
      const config = await loadConfig({ ...base, GITFLEET_NATS_ACCOUNT: "", GITFLEET_NATS_CREDS: path }, []);
      assert.equal(config.account.publicKey, app.getPublicKey());
      assert.match(config.nats.creds ?? "", /BEGIN NATS USER JWT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("takes Git credentials apart from the URL, as a Secret would hold them", async () => {
    const url = "https://git.example/fleet.git";
    const both = await loadConfig({ ...base, GITFLEET_GIT_URL: url, GITFLEET_GIT_USERNAME: "fleet-bot", GITFLEET_GIT_PASSWORD: "s3cret" }, []);
    assert.deepEqual(both.git?.auth, { username: "fleet-bot", password: "s3cret" });
    const tokenOnly = await loadConfig({ ...base, GITFLEET_GIT_URL: url, GITFLEET_GIT_PASSWORD: "ghp_token" }, []);
    assert.deepEqual(tokenOnly.git?.auth, { username: "git", password: "ghp_token" });
    await assert.rejects(loadConfig({ ...base, GITFLEET_GIT_URL: url, GITFLEET_GIT_USERNAME: "fleet-bot" }, []), configError(/GITFLEET_GIT_USERNAME needs GITFLEET_GIT_PASSWORD/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_GIT_PASSWORD: "x" }, []), configError(/GITFLEET_GIT_PASSWORD is set but GITFLEET_GIT_URL is not/));
  });

  void it("keeps fleet events 7 days, up to 100,000, and reads notification sinks from a file", async () => {
    const defaults = await loadConfig(base, []);
    assert.deepEqual(defaults.eventLimits, { maxAgeMs: 7 * 86_400_000, maxCount: 100_000 });
    assert.deepEqual(defaults.notificationSinks, []);
    const dir = await mkdtemp(join(tmpdir(), "gitfleet-config-"));
    try {
      const path = join(dir, "sinks.yaml");
      await writeFile(path, "sinks:\n  - name: chat\n    type: slack\n    url: https://hooks.slack.com/services/T/B/hunter2\n");
      const config = await loadConfig({ ...base, GITFLEET_NOTIFY_SINKS_FILE: path }, ["--events-max-age", "2d", "--events-max-count", "5000"]);
      assert.deepEqual(config.eventLimits, { maxAgeMs: 2 * 86_400_000, maxCount: 5_000 });
      assert.deepEqual(config.notificationSinks.map((s) => [s.name, s.type]), [["chat", "slack"]]);
      await writeFile(path, "sinks:\n  - name: chat\n    type: slack\n    url: ftp://hooks.example/hunter2\n");
      await assert.rejects(
        loadConfig({ ...base, GITFLEET_NOTIFY_SINKS_FILE: path }, []),
        (err: unknown) => configError(/^GITFLEET_NOTIFY_SINKS_FILE \(.*sinks\.yaml\): sinks\[0\]\.url: must be an http or https URL$/)(err) && !(err as Error).message.includes("hunter2"),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await assert.rejects(loadConfig({ ...base, GITFLEET_EVENTS_MAX_COUNT: "ten" }, []), configError(/GITFLEET_EVENTS_MAX_COUNT must be a whole number/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_EVENTS_MAX_AGE: "10s" }, []), configError(/GITFLEET_EVENTS_MAX_AGE must be at least 1m/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_NOTIFY_SINKS_FILE: "/nonexistent/sinks.yaml" }, []), configError(/GITFLEET_NOTIFY_SINKS_FILE: cannot read/));
  });

  void it("keeps 100 history entries per cluster unless told", async () => {
    assert.equal((await loadConfig(base, [])).historyPerCluster, 100);
    assert.equal((await loadConfig(base, ["--history-per-cluster", "500"])).historyPerCluster, 500);
    await assert.rejects(loadConfig({ ...base, GITFLEET_HISTORY_PER_CLUSTER: "0" }, []), configError(/GITFLEET_HISTORY_PER_CLUSTER must be a whole number from 1 to 10000 \(got 0\)/));
  });

    void it("stops with one clear line for each bad setting", async () => {
    await assert.rejects(loadConfig({}, []), configError(/^GITFLEET_NATS_URL is required/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_NATS_URL: "not a url" }, []), configError(/GITFLEET_NATS_URL: "not a url" is not a URL/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_NATS_ACCOUNT_SIGNING_SEED: "SUXYZ" }, []), configError(/not an account nkey seed/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_NATS_ACCOUNT: "UABC" }, []), configError(/is not an account public key/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_HTTP_ADDR: "8080" }, []), configError(/GITFLEET_HTTP_ADDR: expected host:port/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_CREDENTIAL_TTL: "soon" }, []), configError(/GITFLEET_CREDENTIAL_TTL: "soon" is not a duration/));
    await assert.rejects(loadConfig({ ...base, GITFLEET_GRPC_TLS_CERT: "/x.pem" }, []), configError(/must be set together/));
    await assert.rejects(loadConfig(base, ["--no-such-flag"]), configError(/Unknown option '--no-such-flag'; see --help/));
    await assert.rejects(loadConfig(base, ["--help"]), HelpRequested);
    await assert.rejects(loadConfig(base, ["--version"]), VersionRequested);
  });
});
