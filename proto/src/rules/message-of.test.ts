import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { messageOf } from "./message-of.js";

void describe("messageOf", () => {
  void it("gives the message of an Error and the text of anything else", () => {
    assert.equal(messageOf(new TypeError("bad input")), "bad input");
    assert.equal(messageOf("plain text"), "plain text");
    assert.equal(messageOf(42), "42");
    assert.equal(messageOf(undefined), "undefined");
  });
});
