import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createAdmission } from "./admission.js";

void describe("Connect admission", () => {
  void it("lets at most `limit` handshakes run at once and the rest in order of arrival", async () => {
    const admission = createAdmission(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const end = await admission.acquire();
        order.push(i);
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
        end();
      }),
    );
    assert.equal(most, 3);
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(admission.active, 0);
    assert.equal(admission.waiting, 0);
  });

  void it("gives a turn back once, however often it is ended", async () => {
    const admission = createAdmission(1);
    const end = await admission.acquire();
    const second = admission.acquire();
    const third = admission.acquire();
    end();
    end();
    await second;
    assert.equal(admission.active, 1);
    assert.equal(admission.waiting, 1);
    (await second)();
    (await third)();
    assert.equal(admission.active, 0);
  });

  void it("refuses a limit below 1", () => {
    assert.throws(() => createAdmission(0), /at least 1/);
  });
});
