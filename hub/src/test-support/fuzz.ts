// Fuzzing support of the hub's *.fuzz.test.ts files: the shared part (run counts, the
// unhandled-rejection guard, typed-refusal checks) and the repository's fixtures as inputs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export * from "@gitfleet/proto/test-support";

/** Every file under a folder of e2e/fixtures, as a snapshot's files map (paths relative to that folder). */
export function fixtureFiles(name: string): Map<string, Uint8Array> {
  const root = fileURLToPath(new URL(`../../../e2e/fixtures/${name}/`, import.meta.url));
  const files = new Map<string, Uint8Array>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else files.set(path, new Uint8Array(readFileSync(join(root, path))));
    }
  };
  walk("");
  return files;
}
