import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { skipUnlessTool, underCi } from "./skip.js";

void describe("skipping a test for a missing tool", () => {
  void it("runs the test when the tool is there", () => {
    assert.equal(skipUnlessTool(false, { CI: "true" }), false);
    assert.equal(skipUnlessTool(false, {}), false);
  });

  void it("skips with the reason outside CI", () => {
    assert.equal(skipUnlessTool("kustomize is not built", {}), "kustomize is not built");
    assert.equal(skipUnlessTool("kustomize is not built", { CI: "false" }), "kustomize is not built");
  });

  void it("fails instead under CI=true, naming what is missing", () => {
    assert.throws(() => skipUnlessTool("GITFLEET_KUSTOMIZE is not set", { CI: "true" }), /GITFLEET_KUSTOMIZE is not set; under CI=true/);
    assert.throws(() => skipUnlessTool("openssl is not installed", { CI: "1" }), /openssl/);
  });

  void it("reads CI the way CI systems set it", () => {
    assert.equal(underCi({ CI: "TRUE" }), true);
    assert.equal(underCi({ CI: "" }), false);
    assert.equal(underCi({}), false);
  });
});
