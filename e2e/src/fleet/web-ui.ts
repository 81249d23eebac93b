// The hub's web UI for the demo and the browser tests: built from hub/ui (esbuild, under a
// second) into hub/dist/ui, where a hub running from its sources finds it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const run = promisify(execFile);
const buildScript = fileURLToPath(new URL("../../../hub/ui/build.mjs", import.meta.url));

/** Builds the web UI into hub/dist/ui (again, so it matches the sources); resolves with what the build said. */
export async function buildWebUi(): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [buildScript], { encoding: "utf8" });
    return stdout.trim();
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`building the web UI (${buildScript}) failed: ${stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}
