import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { pino } from "pino";
import { startRevocationRepush, type RepushOutcome } from "./nats-revocation.js";

/** A logger that keeps each line's level and message. */
function recordingLogger(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("pushing the revocations again", () => {
  it("repeats until stopped, warns when a server had missed some, and says a failing streak once", async () => {
    const answers: Array<RepushOutcome | Error> = ["pushed", "re-signed", new Error("no servers"), new Error("no servers"), "pushed"];
    let calls = 0;
    const { logger, lines } = recordingLogger();
    const repush = startRevocationRepush(
      {
        repush: () => {
          const answer = answers[calls++] ?? "none";
          return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
        },
      },
      20,
      logger,
    );
    for (let waited = 0; calls < answers.length && waited < 5_000; waited += 10) await sleep(10);
    await repush.stop();
    const after = calls;
    await sleep(100);
    assert.equal(calls, after, "no push after stop()");
    assert.ok(after >= answers.length);
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
    assert.deepEqual(warnings, [
      "a NATS server held the agents account without some revocations; pushed them again",
      "cannot push the agents account's revocations again; retrying",
    ]);
    assert.ok(lines.some((l) => l.level === 30 && l.msg === "pushing the agents account's revocations works again"));
  });
});
