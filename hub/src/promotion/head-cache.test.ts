import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FleetRepository, RepositoryHead } from "./contracts.js";
import { createHeadCache } from "./head-cache.js";

/** A repository whose head is whatever the test last pushed, counting the fetches. */
function countingRepository(): { repository: FleetRepository; push(commit: string): void; fetches(): number } {
  let head = "a".repeat(40);
  let fetches = 0;
  const repository = {
    head: () => {
      fetches += 1;
      return Promise.resolve({ commit: head, files: new Map(), fleet: { bundles: [], pipelines: [] } } as unknown as RepositoryHead);
    },
    commit: () => Promise.reject(new Error("not used")),
  } as FleetRepository;
  return { repository, push: (commit) => (head = commit), fetches: () => fetches };
}

void describe("the head cache of the promotion loops", () => {
  void test("fetches again once delivery has resolved another commit, before its age runs out", async () => {
    const git = countingRepository();
    let delivered: string | undefined = "a".repeat(40);
    const heads = createHeadCache({ repository: git.repository, maxAgeMs: 60_000, delivered: () => delivered, now: () => new Date(0) });
    assert.equal((await heads.get()).commit, "a".repeat(40));
    git.push("b".repeat(40));
    assert.equal((await heads.get()).commit, "a".repeat(40), "within its age and with delivery unchanged, the cached head is kept");
    delivered = "b".repeat(40);
    assert.equal((await heads.get()).commit, "b".repeat(40));
    assert.equal(git.fetches(), 2);
  });

  void test("a head delivery never resolves (an invalid fleet.yaml) is not fetched on every call", async () => {
    const git = countingRepository();
    git.push("c".repeat(40));
    const heads = createHeadCache({ repository: git.repository, maxAgeMs: 60_000, delivered: () => "a".repeat(40), now: () => new Date(0) });
    for (let i = 0; i < 5; i++) await heads.get();
    assert.equal(git.fetches(), 1);
  });

  void test("fetches again when its age has run out", async () => {
    const git = countingRepository();
    let clock = 0;
    const heads = createHeadCache({ repository: git.repository, maxAgeMs: 1_000, now: () => new Date(clock) });
    await heads.get();
    clock = 999;
    await heads.get();
    clock = 1_000;
    await heads.get();
    assert.equal(git.fetches(), 2);
  });
});
