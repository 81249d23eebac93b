// `npm run build:binaries`: single executables of the CLI and the agent for linux-x64 in
// dist/bin; each runs without an installed Node.js.
import { stat } from "node:fs/promises";
import { fromRoot } from "../release/bundle.js";
import { binaries, buildBinary } from "../release/sea.js";

for (const spec of binaries) {
  const started = Date.now();
  const { path, stripped } = await buildBinary(spec);
  const mib = ((await stat(path)).size / 1024 / 1024).toFixed(1);
  const note = stripped ? "" : "; not stripped: install binutils for an executable 18 MiB smaller";
  console.log(`${fromRoot(path)}  ${mib} MiB  (built in ${((Date.now() - started) / 1000).toFixed(1)} s${note})`);
}
