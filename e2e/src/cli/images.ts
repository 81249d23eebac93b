// `npm run images`: builds the hub's and the agent's images from hub/Dockerfile and
// agent/Dockerfile with the first engine that works here (docker with a running daemon, podman,
// buildah), tagged as the charts expect: ghcr.io/gitfleet/<name>:<the charts' appVersion>.
// `npm run images -- --oci` needs no engine: it assembles the same contents from Debian packages
// and npm into OCI image layouts under dist/images/ (what the image test runs), ready for
// `skopeo copy oci:dist/images/gitfleet-hub:<version> docker://...`.
import { execFile, spawn } from "node:child_process";
import { cp, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { outputDir, repoRoot } from "../release/products.js";
import { buildImageContents, imageLabels, imageName, type ImageProduct } from "../images/rootfs.js";

const execFileAsync = promisify(execFile);
const images: { name: ImageProduct; dockerfile: string; chart: string }[] = [
  { name: "gitfleet-hub", dockerfile: "hub/Dockerfile", chart: "charts/gitfleet-hub/Chart.yaml" },
  { name: "gitfleet-agent", dockerfile: "agent/Dockerfile", chart: "charts/gitfleet-agent/Chart.yaml" },
];

/** Whether `command args` runs and exits 0 (an engine that answers, not just a client). */
async function works(command: string, args: readonly string[]): Promise<boolean> {
  try {
    await execFileAsync(command, args, { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** The engine to build with, and why the others were passed over. */
async function findEngine(): Promise<{ engine?: "docker" | "podman" | "buildah"; notes: string[] }> {
  const notes: string[] = [];
  if (await works("docker", ["info", "--format", "{{.ServerVersion}}"])) return { engine: "docker", notes };
  notes.push((await works("docker", ["--version"])) ? "docker: the client is installed but no Docker engine answers (`docker info` fails)" : "docker: not installed");
  if (await works("podman", ["info"])) return { engine: "podman", notes };
  notes.push("podman: not installed or not working (`podman info` fails)");
  if (await works("buildah", ["--version"])) return { engine: "buildah", notes };
  notes.push("buildah: not installed");
  return { notes };
}

/** The chart's appVersion: the image tag the chart defaults to. */
async function appVersion(chart: string): Promise<string> {
  const found = /^appVersion:\s*"?([^"\s]+)"?\s*$/m.exec(await readFile(join(repoRoot, chart), "utf8"))?.[1];
  if (!found) throw new Error(`${chart}: no appVersion`);
  return found;
}

function runVisible(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.slice(0, 3).join(" ")} ... exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  if (process.argv.includes("--oci")) {
    for (const image of images) {
      const tag = await appVersion(image.chart);
      const built = await buildImageContents(image.name, (line) => console.log(`[images] ${line}`));
      const out = join(outputDir, "images", image.name);
      await rm(out, { recursive: true, force: true });
      await mkdir(join(outputDir, "images"), { recursive: true });
      await cp(built.layout, out, { recursive: true });
      console.log(`[images] ${imageName(image.name, tag)}: OCI layout in ${join("dist/images", image.name)} (tag ${tag}, ${(built.sizes.compressed / 1024 / 1024).toFixed(1)} MiB compressed)`);
    }
    return;
  }
  const { engine, notes } = await findEngine();
  if (!engine) {
    console.error(
      [
        "[images] no container engine found, so no image was built:",
        ...notes.map((n) => `  - ${n}`),
        "[images] install docker (with its engine running), podman or buildah, or run `npm run images -- --oci`,",
        "[images] which writes the same contents as OCI image layouts under dist/images/ without an engine.",
      ].join("\n"),
    );
    process.exit(1);
  }
  for (const image of images) {
    const tag = await appVersion(image.chart);
    if (tag !== PRODUCT_VERSION) console.log(`[images] note: ${image.chart} appVersion ${tag} differs from the product version ${PRODUCT_VERSION}`);
    const labels = await imageLabels(image.name);
    const buildArgs = [`VERSION=${PRODUCT_VERSION}`, `REVISION=${labels["org.opencontainers.image.revision"] ?? "unknown"}`, `CREATED=${labels["org.opencontainers.image.created"] ?? ""}`];
    const name = imageName(image.name, tag);
    const args =
      engine === "buildah"
        ? ["bud", "--layers", "-f", image.dockerfile, "-t", name, ...buildArgs.flatMap((a) => ["--build-arg", a]), "."]
        : ["build", "-f", image.dockerfile, "-t", name, ...buildArgs.flatMap((a) => ["--build-arg", a]), "."];
    console.log(`[images] ${engine} ${args.join(" ")}`);
    await runVisible(engine, args);
    console.log(`[images] built ${name} with ${engine}`);
  }
}

await main();
