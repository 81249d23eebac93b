import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { PRODUCT_VERSION, acceptedAgentVersions, agentVersionProblem, isOlderVersion, parseVersion } from "./version.js";

const root = new URL("../../../", import.meta.url);
const json = async (path: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(new URL(path, root), "utf8")) as Record<string, unknown>;

void describe("the product version", () => {
  void it("is one version in every manifest the product ships: packages, npm packages and charts", async () => {
    const manifests = [
      "package.json",
      "proto/package.json",
      "hub/package.json",
      "agent/package.json",
      "e2e/package.json",
      "hub/npm/gitfleet/package.json",
      "hub/npm/gitfleet-hub/package.json",
      "agent/npm/gitfleet-agent/package.json",
    ];
    for (const path of manifests) assert.equal((await json(path))["version"], PRODUCT_VERSION, `${path} has the product version`);
    const lock = await json("package-lock.json");
    assert.equal(lock["version"], PRODUCT_VERSION, "package-lock.json has the product version");
    for (const chart of ["charts/gitfleet-hub/Chart.yaml", "charts/gitfleet-agent/Chart.yaml"]) {
      const text = await readFile(new URL(chart, root), "utf8");
      assert.match(text, new RegExp(`^version: ${PRODUCT_VERSION.replaceAll(".", "\\.")}$`, "m"), `${chart} version`);
      assert.match(text, new RegExp(`^appVersion: "${PRODUCT_VERSION.replaceAll(".", "\\.")}"$`, "m"), `${chart} appVersion`);
    }
    assert.match(await readFile(new URL("CHANGELOG.md", root), "utf8"), new RegExp(`^## \\[${PRODUCT_VERSION.replaceAll(".", "\\.")}\\]`, "m"), "CHANGELOG.md has a section for it");
  });

  void it("parses MAJOR.MINOR.PATCH with an optional v and suffix, and nothing else", () => {
    assert.deepEqual(parseVersion("1.2.3"), { major: 1, minor: 2, patch: 3, suffix: "" });
    assert.deepEqual(parseVersion("v0.10.0-rc.1"), { major: 0, minor: 10, patch: 0, suffix: "rc.1" });
    for (const bad of ["", "1.2", "1.2.3.4", "01.2.3", "test", "1.2.3-", " 1.2.3"]) assert.equal(parseVersion(bad), undefined, bad);
    assert.ok(isOlderVersion("0.1.9", "0.2.0"));
    assert.ok(!isOlderVersion("0.2.0", "0.2.0"));
    assert.ok(!isOlderVersion("test", "0.2.0"), "a text that is no version is not called older");
  });
});

void describe("which agents a hub accepts", () => {
  void it("the hub's major and its minor or the one before, any patch", () => {
    for (const agent of ["1.4.0", "1.4.9", "1.3.0", "1.3.7", "1.4.1-rc.1"]) assert.equal(agentVersionProblem(agent, "1.4.2"), undefined, agent);
    assert.equal(acceptedAgentVersions("1.4.2"), "1.3.x or 1.4.x");
    assert.equal(acceptedAgentVersions("2.0.0"), "2.0.x");
    assert.equal(agentVersionProblem("0.1.0", "0.1.0"), undefined);
  });

  void it("refuses older, newer and unversioned agents, saying what to do", () => {
    assert.equal(agentVersionProblem("1.2.9", "1.4.2"), "agent 1.2.9 is too old: this hub (1.4.2) accepts agents 1.3.x or 1.4.x; upgrade the agent to 1.4.x");
    assert.equal(agentVersionProblem("0.9.0", "1.0.0"), "agent 0.9.0 is too old: this hub (1.0.0) accepts agents 1.0.x; upgrade the agent to 1.0.x");
    assert.equal(agentVersionProblem("1.5.0", "1.4.2"), "agent 1.5.0 is newer than the hub: this hub (1.4.2) accepts agents 1.3.x or 1.4.x; upgrade the hub first, then the agents");
    assert.match(agentVersionProblem("2.0.0", "1.4.2") ?? "", /is newer than the hub/);
    assert.equal(agentVersionProblem("", "1.4.2"), "the agent sent no version");
    assert.equal(agentVersionProblem("dev", "1.4.2"), 'the agent\'s version "dev" is not MAJOR.MINOR.PATCH');
  });
});
