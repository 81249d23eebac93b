// Shared by the hub's and the agent's *.fuzz.test.ts files: how many cases a property runs (GITFLEET_FUZZ_RUNS,
// a few hundred by default so CI stays quick; `npm run fuzz` asks for 10,000), a guard that
// fails the property on any unhandled rejection, and the check that a refusal is the module's
// own typed error with a message that says what is wrong.
import { strict as assert } from "node:assert";
import fc from "fast-check";

/** Cases per fuzz target: GITFLEET_FUZZ_RUNS, default 200. */
export function fuzzRuns(): number {
  const raw = process.env["GITFLEET_FUZZ_RUNS"];
  const runs = raw === undefined || raw === "" ? 200 : Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`GITFLEET_FUZZ_RUNS must be a positive integer, not "${raw}"`);
  return runs;
}

/** fast-check parameters of every target; GITFLEET_FUZZ_SEED replays a reported failure. */
export function fuzzParameters<T>(): fc.Parameters<T> {
  const seed = process.env["GITFLEET_FUZZ_SEED"];
  return { numRuns: fuzzRuns(), ...(seed ? { seed: Number(seed) } : {}) };
}

/**
 * Runs an async property with the fuzz parameters while a process-level listener records
 * unhandled rejections; any that happened fails the target, with the rejection's text.
 */
export async function fuzzAsync<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>): Promise<void> {
  await guarded(() => fc.assert(property, fuzzParameters<Ts>()));
}

/** {@link fuzzAsync} for a synchronous property. */
export async function fuzzSync<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>): Promise<void> {
  await guarded(() => {
    fc.assert(property, fuzzParameters<Ts>());
    return Promise.resolve();
  });
}

async function guarded(run: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", listener);
  try {
    await run().catch((err: unknown) => {
      // node:test does not print an error's cause: put what the property threw into the message.
      if (err instanceof Error && err.cause !== undefined) err.message += `\nthrown by the property: ${err.cause instanceof Error ? (err.cause.stack ?? err.cause.message) : JSON.stringify(err.cause)}`;
      throw err;
    });
    // Rejections left unhandled by the last case surface after a turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("unhandledRejection", listener);
  }
  assert.deepEqual(unhandled.map(String), [], "unhandled rejections while fuzzing");
}

/** Asserts `err` is an instance of one of `types` with a non-empty message; rethrows it otherwise. */
export function assertTypedError(err: unknown, types: readonly (abstract new (...args: never[]) => Error)[]): asserts err is Error {
  if (!types.some((type) => err instanceof type)) throw err;
  assert.ok((err as Error).message.trim().length > 0, `${(err as Error).name} without a message`);
}

/** Calls `f`; a throw must be one of `types` with a message. Returns what `f` returned, or undefined when it refused. */
export function refusesTyped<T>(f: () => T, types: readonly (abstract new (...args: never[]) => Error)[]): T | undefined {
  try {
    return f();
  } catch (err) {
    assertTypedError(err, types);
    return undefined;
  }
}

/** {@link refusesTyped} for a function that returns a promise. */
export async function refusesTypedAsync<T>(f: () => Promise<T>, types: readonly (abstract new (...args: never[]) => Error)[]): Promise<T | undefined> {
  try {
    return await f();
  } catch (err) {
    assertTypedError(err, types);
    return undefined;
  }
}

/** Text mutations of a valid document: lines dropped, duplicated, swapped, cut, or a few characters changed. */
export function mutatedText(text: string): fc.Arbitrary<string> {
  const lines = text.split("\n");
  const n = Math.max(1, lines.length);
  const noise = fc.constantFrom(":", "-", " ", "\t", "{", "}", "[", "]", "'", '"', "&a", "*a", "!!binary", "${x}", "$${", "\n", "#", "|", ">", "~", "null", "0x1", "1e999", "\u0000", "é");
  const edit = fc.oneof(
    fc.record({ op: fc.constant("drop" as const), at: fc.nat(n - 1) }),
    fc.record({ op: fc.constant("dup" as const), at: fc.nat(n - 1) }),
    fc.record({ op: fc.constant("swap" as const), at: fc.nat(n - 1), to: fc.nat(n - 1) }),
    fc.record({ op: fc.constant("indent" as const), at: fc.nat(n - 1), by: fc.integer({ min: -4, max: 4 }) }),
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(n - 1), col: fc.nat(80), what: fc.oneof(noise, fc.string({ maxLength: 12 })) }),
    fc.record({ op: fc.constant("truncate" as const), at: fc.nat(text.length) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let out = [...lines];
    for (const e of edits) {
      const at = Math.min(e.op === "truncate" ? 0 : e.at, Math.max(0, out.length - 1));
      const line = out[at] ?? "";
      switch (e.op) {
        case "drop":
          out.splice(at, 1);
          break;
        case "dup":
          out.splice(at, 0, line);
          break;
        case "swap": {
          const to = Math.min(e.to, Math.max(0, out.length - 1));
          [out[at], out[to]] = [out[to] ?? "", line];
          break;
        }
        case "indent":
          out[at] = e.by >= 0 ? " ".repeat(e.by) + line : line.replace(new RegExp(`^ {0,${-e.by}}`), "");
          break;
        case "insert": {
          const col = Math.min(e.col, line.length);
          out[at] = line.slice(0, col) + e.what + line.slice(col);
          break;
        }
        case "truncate":
          out = out.join("\n").slice(0, e.at).split("\n");
          break;
      }
    }
    return out.join("\n");
  });
}

/** Arbitrary JSON-like values whose keys come from `keys` (plus a few others), to reach a schema's fields. */
export function keyedValue(keys: readonly string[], depth = 3): fc.Arbitrary<unknown> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
  const leaf = fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, "", "a", "web", "0", "true", "${x}", "../..", "http://127.0.0.1/x", "a".repeat(300)),
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.double(),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small", maxDepth: depth }, leaf, tie("array"), tie("object")),
    array: fc.array(tie("value"), { maxLength: 4 }),
    object: fc.dictionary(key, tie("value"), { maxKeys: 6 }),
  }));
  return value;
}
