import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { dnsLabelProblem, dnsSubdomainProblem } from "./dns-label.js";

void describe("DNS names", () => {
  void it("accepts DNS labels and refuses the rest", () => {
    assert.equal(dnsLabelProblem("prod-eu-1"), undefined);
    assert.equal(dnsLabelProblem("a".repeat(63)), undefined);
    assert.match(dnsLabelProblem("Prod") ?? "", /lowercase/);
    assert.match(dnsLabelProblem("Prod_EU") ?? "", /lowercase/);
    assert.match(dnsLabelProblem("-a") ?? "", /start and end/);
    assert.match(dnsLabelProblem("a.b") ?? "", /lowercase letters, digits and '-'/);
    assert.match(dnsLabelProblem("a".repeat(64)) ?? "", /at most 63/);
    assert.match(dnsLabelProblem("") ?? "", /empty/);
  });

  void it("accepts DNS subdomains made of DNS labels", () => {
    assert.equal(dnsSubdomainProblem("gitfleet.dev"), undefined);
    assert.match(dnsSubdomainProblem("Bad_Prefix.dev") ?? "", /must be a DNS subdomain/);
    assert.match(dnsSubdomainProblem("a..b") ?? "", /must be a DNS subdomain/);
    assert.match(dnsSubdomainProblem(`${"a".repeat(63)}.`.repeat(4) + "a") ?? "", /at most 253/);
  });
});
