import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { USAGE, parseCommand, settings, usage } from "./config.js";
import { ConfigError } from "./errors.js";

const token = `gf_reg_${"A".repeat(43)}`;
const parsed = (argv: string[], env: Record<string, string> = {}) => {
  const command = parseCommand(argv, env);
  return command.kind === "run" ? command : assert.fail(`not a run command: ${command.kind}`);
};
const run = (argv: string[], env: Record<string, string> = {}) => parsed(argv, env).config;
const fails = (argv: string[], pattern: RegExp, env: Record<string, string> = {}) =>
  assert.throws(() => parseCommand(argv, env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, "a ConfigError");
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/, "one line");
    return true;
  });

describe("agent configuration", () => {
  it("reads flags in both --flag value and --flag=value forms", () => {
    const config = run(["--hub", "hub.example:7443", `--token=${token}`, "--cluster-name", "prod-eu-1", "--labels", "region=eu,tier=prod"]);
    assert.equal(config.hub, "hub.example:7443");
    assert.equal(config.token, token);
    assert.equal(config.clusterName, "prod-eu-1");
    assert.deepEqual(config.labels, { region: "eu", tier: "prod" });
    assert.equal(config.namespace, "gitfleet-system");
    assert.deepEqual(config.tls, { mode: "system" });
    assert.equal(config.reconcileIntervalMs, 30_000);
  });

  it("reads the agent's ServiceAccount and RBAC name, which bundles may not touch, and checks them", () => {
    assert.deepEqual(run([]).agentRbac, {});
    const config = run(["--rbac-name", "edge-gitfleet-agent"], { GITFLEET_SERVICE_ACCOUNT: "gitfleet-agent" });
    assert.deepEqual(config.agentRbac, { serviceAccount: "gitfleet-agent", rbacName: "edge-gitfleet-agent" });
    fails([], /GITFLEET_SERVICE_ACCOUNT "Not Valid" is not a valid object name/, { GITFLEET_SERVICE_ACCOUNT: "Not Valid" });
  });

  it("reads the environment, and flags win over it", () => {
    const env = {
      GITFLEET_HUB_ADDRESS: "env-hub:1",
      GITFLEET_REGISTRATION_TOKEN: token,
      GITFLEET_CLUSTER_NAME: "from-env",
      GITFLEET_LABELS: "a=b",
      GITFLEET_PLAINTEXT: "true",
    };
    const { config, warnings } = parsed(["--cluster-name", "from-flag"], env);
    assert.equal(config.hub, "env-hub:1");
    assert.equal(config.token, token);
    assert.equal(config.clusterName, "from-flag");
    assert.deepEqual(config.labels, { a: "b" });
    assert.deepEqual(config.tls, { mode: "plaintext" });
    assert.deepEqual(warnings, []);
  });

  it("still reads GITFLEET_HUB and GITFLEET_TOKEN, with one warning each that names the new variable", () => {
    const { config, warnings } = parsed([], { GITFLEET_HUB: "old-hub:1", GITFLEET_TOKEN: token });
    assert.equal(config.hub, "old-hub:1");
    assert.equal(config.token, token);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? "", /^GITFLEET_HUB is deprecated for gitfleet-agent: set GITFLEET_HUB_ADDRESS instead/);
    assert.match(warnings[1] ?? "", /^GITFLEET_TOKEN is deprecated for gitfleet-agent: set GITFLEET_REGISTRATION_TOKEN instead/);
    fails([], /GITFLEET_TOKEN is not a registration token/, { GITFLEET_TOKEN: "gf_reg_short" });
  });

  it("prefers the new variables (and flags) over the deprecated ones, without a warning", () => {
    const other = `gf_reg_${"B".repeat(43)}`;
    const both = parsed([], { GITFLEET_HUB: "old-hub:1", GITFLEET_HUB_ADDRESS: "new-hub:2", GITFLEET_TOKEN: token, GITFLEET_REGISTRATION_TOKEN: other });
    assert.equal(both.config.hub, "new-hub:2");
    assert.equal(both.config.token, other);
    assert.deepEqual(both.warnings, []);
    const flags = parsed(["--hub", "flag-hub:3", "--token", other], { GITFLEET_HUB: "old-hub:1", GITFLEET_TOKEN: "not even a token" });
    assert.equal(flags.config.hub, "flag-hub:3");
    assert.equal(flags.config.token, other);
    assert.deepEqual(flags.warnings, []);
    // An empty new variable counts as unset, as every empty variable does.
    assert.equal(parsed([], { GITFLEET_HUB: "old-hub:1", GITFLEET_HUB_ADDRESS: "" }).config.hub, "old-hub:1");
  });

  it("needs nothing but defaults once registered", () => {
    const config = run([]);
    assert.equal(config.hub, undefined);
    assert.equal(config.token, undefined);
  });

  it("chooses the hub TLS mode", () => {
    assert.deepEqual(run(["--hub-ca", "ca.pem"]).tls, { mode: "ca", caFile: "ca.pem" });
    assert.deepEqual(run(["--insecure-skip-tls-verify"]).tls, { mode: "insecure-skip-verify" });
    assert.deepEqual(run(["--plaintext"]).tls, { mode: "plaintext" });
  });

  it("serves the probes on :8081 unless told otherwise, and elects a leader only when asked", () => {
    const defaults = run([]);
    assert.equal(defaults.healthAddress, ":8081");
    assert.equal(defaults.leaderElect, false);
    assert.equal(run(["--health-addr", "127.0.0.1:9000"]).healthAddress, "127.0.0.1:9000");
    assert.equal(run([], { GITFLEET_HEALTH_ADDR: "[::1]:0" }).healthAddress, "[::1]:0");
    assert.equal(run(["--health-addr=off"]).healthAddress, undefined);
    assert.equal(run(["--leader-elect"]).leaderElect, true);
    assert.equal(run([], { GITFLEET_LEADER_ELECT: "true" }).leaderElect, true);
    fails(["--health-addr", "8081"], /--health-addr "8081" is not a \[HOST\]:PORT address/);
    fails([], /GITFLEET_HEALTH_ADDR ":99999" is not/, { GITFLEET_HEALTH_ADDR: ":99999" });
    fails([], /GITFLEET_LEADER_ELECT must be true or false/, { GITFLEET_LEADER_ELECT: "sometimes" });
  });

  it("answers --help and --version", () => {
    assert.deepEqual(parseCommand(["--help"], {}), { kind: "help" });
    assert.deepEqual(parseCommand(["-h"], {}), { kind: "help" });
    assert.deepEqual(parseCommand(["--version"], {}), { kind: "version" });
    assert.deepEqual(parseCommand(["--help", "--no-such-flag"], {}), { kind: "help" });
  });

  it("generates --help from the settings table: every flag, value name, variable and default", () => {
    assert.equal(USAGE, usage());
    for (const [flag, setting] of Object.entries(settings)) {
      const value: string | undefined = "value" in setting ? setting.value : undefined;
      const line = USAGE.split("\n").find((l) => l.startsWith(`  --${flag} `));
      assert.ok(line, `--${flag} is in --help`);
      if (value) assert.ok(line.startsWith(`  --${flag} ${value} `), `--${flag} shows its value name ${value}`);
      assert.match(USAGE, new RegExp(`env ${setting.env}\\b`), `--${flag} shows ${setting.env}`);
    }
    assert.match(USAGE, /env GITFLEET_HUB_ADDRESS \(formerly GITFLEET_HUB, deprecated\)/);
    assert.match(USAGE, /env GITFLEET_RECONCILE_INTERVAL, default 30s/);
    assert.match(USAGE, /^Usage: gitfleet-agent --hub HOST:PORT --token TOKEN --cluster-name NAME \[flags\]/);
  });

  it("takes true or false after = on switches, as it always did", () => {
    assert.deepEqual(run(["--plaintext=true"]).tls, { mode: "plaintext" });
    assert.deepEqual(run(["--plaintext=false"]).tls, { mode: "system" });
    assert.equal(run(["--leader-elect=yes"]).leaderElect, true);
    fails(["--leader-elect=sometimes"], /--leader-elect must be true or false, not "sometimes"/);
    fails(["--plaintext", "--plaintext=true"], /--plaintext is given twice/);
    fails(["--help=1"], /--help takes no value/);
  });

  it("rejects bad input with one clear line naming the flag or variable", () => {
    fails(["--hubb", "x"], /unknown flag --hubb/);
    fails(["-x"], /unknown flag -x/);
    fails(["--hub"], /--hub needs a value/);
    fails(["--hub", "--plaintext"], /--hub needs a value/);
    fails(["stray"], /unexpected argument "stray"/);
    fails(["--token", "nope"], /--token is not a registration token/);
    fails([], /GITFLEET_REGISTRATION_TOKEN is not a registration token/, { GITFLEET_REGISTRATION_TOKEN: "gf_reg_short" });
    fails(["--cluster-name", "Prod_EU"], /--cluster-name "Prod_EU" is not a DNS label/);
    fails(["--labels", "region"], /--labels: "region" is not key=value/);
    fails(["--labels", "bad key=x"], /"bad key" is not a valid label key/);
    fails(["--labels", "a=b,a=c"], /label a is given twice/);
    fails(["--labels", "a=not ok"], /"not ok" is not a valid value for label a/);
    fails(["--hub-ca", "ca.pem", "--plaintext"], /--hub-ca and --plaintext exclude each other/);
    fails(["--insecure-skip-tls-verify", "--plaintext"], /exclude each other/);
    fails([], /GITFLEET_PLAINTEXT must be true or false/, { GITFLEET_PLAINTEXT: "maybe" });
    fails(["--namespace", "Not-OK"], /--namespace "Not-OK" is not a valid namespace name/);
    fails(["--log-level", "loud"], /--log-level "loud" is not one of/);
    fails(["--reconcile-interval", "soon"], /not a duration/);
    fails(["--hub", "a:1", "--hub", "b:2"], /--hub is given twice/);
  });

  it("accepts prefixed label keys", () => {
    assert.deepEqual(run(["--labels", "gitfleet.io/region=eu, team=web"]).labels, { "gitfleet.io/region": "eu", team: "web" });
  });

  it("reads the reconcile interval as the hub reads durations, at least 1s", () => {
    assert.equal(run(["--reconcile-interval", "45"]).reconcileIntervalMs, 45_000);
    assert.equal(run(["--reconcile-interval", "2m"]).reconcileIntervalMs, 120_000);
    assert.equal(run(["--reconcile-interval", "1h30m"]).reconcileIntervalMs, 5_400_000);
    assert.equal(run([], { GITFLEET_RECONCILE_INTERVAL: "2d" }).reconcileIntervalMs, 172_800_000);
    fails(["--reconcile-interval", "500ms"], /--reconcile-interval must be at least 1s/);
    fails(["--reconcile-interval", "0"], /--reconcile-interval: expected a positive number of seconds/);
  });
});
