import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { createCoalescer } from "./coalesce.js";

/** A promise with its resolve function, to hold a task until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

void describe("coalescer", () => {
  void test("runs once at a time and folds requests made during a run into one follow-up run", async () => {
    let starts = 0;
    let active = 0;
    let maxActive = 0;
    const gates = [gate(), gate()];
    const runner = createCoalescer(async () => {
      const run = starts++;
      active++;
      maxActive = Math.max(maxActive, active);
      await gates[run]?.promise;
      active--;
      return run;
    });
    const first = runner.run();
    const second = runner.run();
    const third = runner.run();
    assert.equal(starts, 1, "the follow-up waits for the running task");
    gates[0]?.open();
    assert.equal(await first, 0);
    gates[1]?.open();
    assert.deepEqual(await Promise.all([second, third]), [1, 1]);
    assert.equal(starts, 2);
    assert.equal(maxActive, 1);
    await runner.idle();
  });

  void test("a failed run rejects its callers only; the next run starts fresh", async () => {
    let calls = 0;
    const runner = createCoalescer(() => {
      calls++;
      return calls === 1 ? Promise.reject(new Error("boom")) : Promise.resolve(calls);
    });
    await assert.rejects(runner.run(), /boom/);
    assert.equal(await runner.run(), 2);
  });

  void test("a request made as a run ends never overlaps the follow-up run", async () => {
    let starts = 0;
    let active = 0;
    let maxActive = 0;
    const hold = gate();
    const runner = createCoalescer(async () => {
      const run = ++starts;
      active++;
      maxActive = Math.max(maxActive, active);
      if (run === 1) await hold.promise;
      await Promise.resolve();
      active--;
      return run;
    });
    const first = runner.run();
    const queued = runner.run();
    hold.open();
    await first;
    // The first run is over; the queued one may or may not have started yet.
    const late = runner.run();
    assert.equal(await queued, 2);
    assert.ok((await late) >= 2, "a caller never gets a run that started before it asked");
    await runner.idle();
    assert.equal(maxActive, 1);
  });
});
