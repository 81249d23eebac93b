import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createCoalescedTask } from "./coalesce.js";

const failed = (err: unknown): void => assert.fail(String(err));
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

void describe("coalesced task", () => {
  void it("runs once for a burst of requests made before it started", async () => {
    let runs = 0;
    const task = createCoalescedTask({ run: () => void runs++, onError: failed });
    await Promise.all(Array.from({ length: 100 }, () => task.request()));
    assert.equal(runs, 1);
  });

  void it("runs again, once, for requests made while it ran, and never twice at once", async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    let value = 0;
    const task = createCoalescedTask({
      run: async () => {
        running++;
        most = Math.max(most, running);
        const at = value;
        await tick(20);
        seen.push(at);
        running--;
      },
      onError: failed,
      maxGapMs: 5,
    });
    const first = task.request();
    await tick(5);
    value = 1;
    const during = Array.from({ length: 50 }, () => task.request());
    await Promise.all([first, ...during]);
    assert.equal(most, 1);
    // The first run saw the state before the change; the one after it saw the change.
    assert.deepEqual(seen, [0, 1]);
    assert.equal(task.runs, 2);
  });

  void it("resolves a request only after a run that started after it", async () => {
    let value = 0;
    let seenByLastRun = -1;
    const task = createCoalescedTask({
      run: async () => {
        const at = value;
        await tick(10);
        seenByLastRun = at;
      },
      onError: failed,
      maxGapMs: 1,
    });
    void task.request();
    await tick(2);
    value = 7;
    await task.request();
    assert.equal(seenByLastRun, 7);
  });

  void it("pauses between back-to-back runs about as long as a run took, so requests cannot starve the event loop", async () => {
    const starts: number[] = [];
    const task = createCoalescedTask({
      run: async () => {
        starts.push(performance.now());
        await tick(30);
      },
      onError: failed,
      maxGapMs: 1_000,
    });
    void task.request();
    await tick(5);
    await task.request();
    assert.equal(starts.length, 2);
    const [a = 0, b = 0] = starts;
    assert.ok(b - a >= 55, `second run began ${Math.round(b - a)} ms after the first`);
  });

  void it("reports a failed run and still runs for later requests", async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const task = createCoalescedTask({
      run: () => {
        runs++;
        if (runs === 1) throw new Error("boom");
      },
      onError: (err) => errors.push(err),
    });
    await task.request();
    await task.request();
    assert.equal(runs, 2);
    assert.equal(errors.length, 1);
  });

  void it("after stop, drops what waits and runs nothing more", async () => {
    let runs = 0;
    const task = createCoalescedTask({ run: () => void runs++, onError: failed, delayMs: 50 });
    const waiting = task.request();
    await task.stop();
    await waiting;
    await task.request();
    await tick(80);
    assert.equal(runs, 0);
  });
});
