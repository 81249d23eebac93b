import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { commitInfo, parseTrailers, trailer } from "./commit-info.js";

const author = { name: "Ada Operator", email: "ada@example.com", timestamp: 1_777_636_800, timezoneOffset: -120 };

void describe("commit info", () => {
  void test("reads subject, author, time, trailers and parents of a promotion commit", () => {
    const message = [
      "promote web: staging → prod-us (web:1.4.2)",
      "",
      "registry.example.com/web: 1.4.1 → 1.4.2",
      "",
      "Gitfleet-Promotion: p-01hx",
      "Gitfleet-Pipeline: web",
      "Gitfleet-From: staging@4f0b60f",
      "",
    ].join("\n");
    assert.deepEqual(commitInfo({ message, author, parent: ["p1", "p2"] }), {
      subject: "promote web: staging → prod-us (web:1.4.2)",
      author: "Ada Operator",
      email: "ada@example.com",
      time: "2026-05-01T12:00:00.000Z",
      trailers: { "Gitfleet-Promotion": "p-01hx", "Gitfleet-Pipeline": "web", "Gitfleet-From": "staging@4f0b60f" },
      parents: ["p1", "p2"],
    });
  });

  void test("a subject alone, or a last paragraph that is prose, has no trailers", () => {
    assert.deepEqual(parseTrailers("Fix: the thing"), {}, "the subject is never a trailer block");
    assert.deepEqual(parseTrailers("subject\n\nSee: this\nand some prose"), {});
    assert.deepEqual(parseTrailers("subject\r\n\r\nSigned-off-by: A <a@b>\r\n"), { "Signed-off-by": "A <a@b>" });
  });

  void test("long subjects are cut, CRLF messages read like LF ones, and trailers match without case", () => {
    const info = commitInfo({ message: `${"x".repeat(400)}\r\n\r\ngitfleet-promotion: p-1\r\n`, author, parent: [] });
    assert.equal(info.subject.length, 300);
    assert.ok(info.subject.endsWith("…"));
    assert.equal(trailer(info, "Gitfleet-Promotion"), "p-1");
    assert.equal(trailer(info, "Gitfleet-Pipeline"), undefined);
  });
});
