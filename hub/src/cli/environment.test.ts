import { strict as assert } from "node:assert";
import { describe, it, mock } from "node:test";
import { readCliEnvironment } from "./environment.js";
import { runCli } from "./main.js";

void describe("the CLI's environment", () => {
  void it("reads the hub API URL, the API token and kustomize; empty counts as unset", () => {
    assert.deepEqual(readCliEnvironment({ GITFLEET_HUB: "http://hub:8080", GITFLEET_TOKEN: "an-admin-token", GITFLEET_KUSTOMIZE: "" }), {
      hub: "http://hub:8080",
      token: "an-admin-token",
      kustomize: undefined,
    });
  });

  void it("does not take the agent's hub address or registration token for its own", async () => {
    const env = { GITFLEET_HUB_ADDRESS: "hub:9090", GITFLEET_REGISTRATION_TOKEN: `gf_reg_${"A".repeat(43)}` };
    assert.deepEqual(readCliEnvironment(env), { hub: undefined, token: undefined, kustomize: undefined });
    const errors: string[] = [];
    const spy = mock.method(console, "error", (line: string) => errors.push(line));
    try {
      assert.equal(await runCli(["cluster", "list"], () => {}, env), 2);
    } finally {
      spy.mock.restore();
    }
    assert.deepEqual(errors, ["gitfleet: no API token; pass --token or set GITFLEET_TOKEN"]);
  });
});
