// The background process behind `npm run lab -- up`: it owns the lab's
// servers (the Git server runs inside it), answers the control API on
// loopback, and tears everything down on SIGTERM, SIGINT or POST /stop.
import { rm, writeFile, mkdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { serveLabControl, type LabControl } from "./control.js";
import { startLab, type Lab } from "./lab.js";
import { stateDir, stateFiles } from "./state.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "1" },
    "no-workloads": { type: "boolean", default: false },
    "nats-nodes": { type: "string", default: "1" },
    faults: { type: "boolean", default: false },
  },
});
const progress = (line: string): void => console.log(`[lab] ${line}`);

await mkdir(stateDir, { recursive: true });
await writeFile(stateFiles.pid, `${process.pid}\n`);

let lab: Lab | undefined;
let control: LabControl | undefined;
let stopping: Promise<void> | undefined;

function shutdown(code: number): Promise<void> {
  stopping ??= (async () => {
    progress("stopping");
    await control?.close();
    await lab?.stop();
    await rm(stateFiles.info, { force: true });
    await rm(stateFiles.pid, { force: true });
    progress("stopped");
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

try {
  lab = await startLab({
    clusters: Number(values.clusters),
    workloads: !values["no-workloads"],
    natsNodes: Number(values["nats-nodes"]),
    faults: values.faults,
    progress,
  });
  control = await serveLabControl(lab, () => void shutdown(0));
  progress(`ready: ${stateFiles.info}`);
} catch (err) {
  console.error(`[lab] failed: ${(err as Error).message}`);
  await shutdown(1);
}
