import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { createCommitLog } from "./commit-log.js";
import type { CommitInfo } from "./snapshot.js";

const info = (subject: string, parents: string[]): CommitInfo => ({ subject, author: "a", email: "a@b", time: "2026-05-01T12:00:00.000Z", trailers: {}, parents });

void describe("the commit log", () => {
  void test("remembers what fetched commits say, the newest `max` of them", () => {
    const log = createCommitLog(2);
    log.remember("c1", info("one", []));
    log.remember("c2", info("two", ["c1"]));
    log.remember("c1", info("one", []));
    log.remember("c3", info("three", ["c2"]));
    assert.equal(log.info("c2"), undefined, "the least recently fetched is forgotten first");
    assert.equal(log.info("c1")?.subject, "one");
    assert.equal(log.info("c3")?.subject, "three");
  });

  void test("a commit descends from itself and from its ancestors, also through one it never fetched", () => {
    const log = createCommitLog();
    log.remember("c1", info("one", []));
    log.remember("c3", info("three", ["c2"]));
    log.remember("c4", info("four", ["c3"]));
    assert.equal(log.descends("c4", "c4"), true);
    assert.equal(log.descends("c4", "c3"), true);
    assert.equal(log.descends("c4", "c2"), true, "c2 was skipped by the shallow fetches, but it is c3's parent");
    assert.equal(log.descends("c4", "c1"), true, "past the gap, the order of fetches tells");
    assert.equal(log.descends("c3", "c4"), false, "an older commit does not descend from a newer one");
    assert.equal(log.descends("c4", "unknown"), false);
    assert.equal(log.descends("unknown", "c1"), false);
  });

  void test("a branch whose whole line is known tells a sibling from an ancestor", () => {
    const log = createCommitLog();
    log.remember("root", info("root", []));
    log.remember("a", info("a", ["root"]));
    log.remember("b", info("b", ["root"]));
    assert.equal(log.descends("b", "a"), false, "b was fetched after a, but a is not its ancestor");
    assert.equal(log.descends("b", "root"), true);
  });
});
