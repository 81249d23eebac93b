// `gitfleet`: the admin CLI of the hub API.
import { parseArgs } from "node:util";
import { PRODUCT_VERSION, dnsLabelProblem, parseLabels } from "@gitfleet/proto/rules";
import { variableNameProblem } from "../delivery/index.js";
import { parseAllowedLabels, type AllowedLabels } from "../labels/label-policy.js";
import { UsageError, withInterrupt } from "./cli-support.js";
import {
  clusterDelete,
  clusterGet,
  clusterList,
  clusterSet,
  tokenCreate,
  tokenList,
  tokenRevoke,
  type CommandContext,
} from "./commands.js";
import { diffCommand } from "./diff-commands.js";
import { driftList, driftSummary, type DriftFilters } from "./drift-commands.js";
import { cliEnv, defaultHubUrl, readCliEnvironment } from "./environment.js";
import { eventsCommand } from "./events.js";
import { historyCommand } from "./history-commands.js";
import { signingKeyList, signingKeyRetire, signingKeyRotate } from "./signing-key-commands.js";
import { createHubClient } from "./hub-client.js";
import { runPromotionCommand } from "./promotion-cli.js";
import { renderCommand } from "./render.js";

const usage = `usage: gitfleet <command> [flags]

commands:
  token create [--ttl 1h] [--max-uses N] [--labels k=v,...] [--allow-labels k=v1|v2,k2=*,...] [--description TEXT]
  token list
  token revoke ID
  signing-key list
  signing-key rotate
  signing-key retire ID
  cluster list [--selector SELECTOR]
  cluster get NAME
  cluster set NAME [--label k=v ...] [--var k=v ...]   (k- removes a key)
  cluster delete NAME
  drift [--selector SELECTOR] [--bundle NAME] [--state drifted,missing,conflict] [--kind KIND]
        [--namespace NS] [--name NAME] [--manager MANAGER] [--since 1h|TIME]
  drift summary [--by cluster|bundle|kind|manager] [the filters of drift]
  diff FROM TO [--revision SHA]
  diff --cluster NAME --revisions A..B
  events [--cluster NAME] [--bundle NAME] [--type T,...] [--kind K] [--namespace NS] [--name N]
         [--since 1h|TIME] [--limit N] [--follow]
  history CLUSTER [--limit N]
  promote PIPELINE --from STAGE --to STAGE [--dry-run] [--wait]
  promotion list [--pipeline NAME] [--state STATE] [--limit N]
  promotion get ID
  promotion rollback ID [--dry-run] [--wait]
  pipeline list
  pipeline get NAME
  pipeline resume NAME
  render --repo DIR --cluster NAME [--labels k=v,...] [--var k=v ...] [--bundle NAME] [-o yaml|json]
  render --repo DIR --check [-o table|json]

flags:
  --hub URL          hub API address (env ${cliEnv.hub}, default ${defaultHubUrl})
  --token TOKEN      API token (env ${cliEnv.token})
  -o, --output       table (default) or json; yaml (default) or json for render
  --version          print the version of gitfleet and exit
  --kustomize PATH   kustomize binary for render (env ${cliEnv.kustomize}, default kustomize on PATH)

drift prints one row per drifted field (desired and live values JSON-encoded, the manager that
wrote the live one, and since when), and a row for each missing object; it reads every page.
--selector selects clusters by label; --since takes a duration back from now or an RFC 3339 time.

events lists the fleet's events of the last hour (or --since), oldest first: drift detected and
corrected, conflicts, health degraded and recovered, failed syncs, clusters stale and back.
--follow keeps printing new events as the hub records them, until Ctrl-C; with -o json it prints
one JSON object per line.

history lists the revisions a cluster reached, newest first (20 unless --limit): when, the
commit's author and subject, and the promotion that made it. The hub keeps a bounded number per
cluster.

diff compares the desired state the hub renders for two clusters or pipeline stages (a name is a
cluster first, then a stage; cluster:NAME and stage:NAME or stage:PIPELINE/NAME say which), at
the last good commit or --revision; with --cluster and --revisions A..B (A.. for A to the last
good commit) one cluster at two commits. It prints every differing object and field with both
values; the values of Secrets are withheld.

promote moves the promotable values (image tags, fields, files) of one stage of a pipeline to the
next stage's overlay in one commit, once the first stage's gates pass; it prints the gates and the
diff. --dry-run writes nothing; --wait shows the promotion's progress until the target stage is
verified (exit 0) or the promotion failed (exit 1). A refusal exits 1 with the hub's reason.
promotion rollback reverts a promotion's edits in a commit of its own.

render prints what the cluster would receive from the fleet repository's working tree, with the
hub's own code; it needs no hub. --check validates fleet.yaml and renders every target once,
saying whether each target substitutes variables and listing the ones its clusters must set
instead of failing on them; warnings (such as references left as written where substitution is
off) go to stderr and do not fail the check.`;

/** Runs the CLI with the given arguments and environment; returns the exit code. */
export async function runCli(
  argv: readonly string[],
  print: (s: string) => void = console.log,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const fromEnv = readCliEnvironment(env);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        hub: { type: "string" },
        token: { type: "string" },
        output: { type: "string", short: "o" },
        ttl: { type: "string" },
        "max-uses": { type: "string" },
        labels: { type: "string" },
        "allow-labels": { type: "string" },
        description: { type: "string" },
        selector: { type: "string", short: "l" },
        label: { type: "string", multiple: true },
        var: { type: "string", multiple: true },
        repo: { type: "string" },
        cluster: { type: "string" },
        bundle: { type: "string" },
        check: { type: "boolean" },
        kustomize: { type: "string" },
        type: { type: "string" },
        kind: { type: "string" },
        namespace: { type: "string" },
        name: { type: "string" },
        since: { type: "string" },
        limit: { type: "string" },
        follow: { type: "boolean", short: "f" },
        state: { type: "string" },
        manager: { type: "string" },
        by: { type: "string" },
        revision: { type: "string" },
        revisions: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        pipeline: { type: "string" },
        "dry-run": { type: "boolean" },
        wait: { type: "boolean", short: "w" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (err) {
    console.error(`gitfleet: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [group, verb, arg] = positionals;
  if (values.version) {
    print(`gitfleet ${PRODUCT_VERSION}`);
    return 0;
  }
  if (values.help || !group) {
    print(usage);
    return values.help ? 0 : 2;
  }
  if (group === "render") return await runRender({ ...values, kustomize: values.kustomize ?? fromEnv.kustomize }, print);
  const output = values.output ?? "table";
  if (output !== "table" && output !== "json") {
    console.error(`gitfleet: --output must be table or json, got "${output}"`);
    return 2;
  }
  const token = values.token ?? fromEnv.token;
  if (!token) {
    console.error(`gitfleet: no API token; pass --token or set ${cliEnv.token}`);
    return 2;
  }
  const ctx: CommandContext = {
    hub: createHubClient({ url: values.hub ?? fromEnv.hub ?? defaultHubUrl, token }),
    output,
    print,
  };
  const need = (what: string): string => {
    if (!arg) throw new UsageError(`gitfleet ${group} ${verb} needs ${what}`);
    return arg;
  };
  try {
    const limit = values.limit === undefined ? undefined : parseCount(values.limit, "--limit");
    if (group === "history") {
      if (!verb || arg) throw new UsageError("gitfleet history needs one cluster NAME");
      await historyCommand(ctx, verb, limit);
      return 0;
    }
    if (group === "diff") {
      await diffCommand(ctx, diffRequest(positionals.slice(1), values));
      return 0;
    }
    const promotion = await runPromotionCommand(ctx, positionals, { ...values, limit });
    if (promotion !== undefined) return promotion;
    switch (`${group} ${verb ?? ""}`) {
      case "token create":
        await tokenCreate(ctx, {
          ...(values.ttl ? { ttl: values.ttl } : {}),
          ...(values["max-uses"] ? { maxUses: parseCount(values["max-uses"]) } : {}),
          ...(values.labels ? { labels: labelsFlag(values.labels) } : {}),
          ...(values["allow-labels"] ? { allowedLabels: allowLabelsFlag(values["allow-labels"]) } : {}),
          ...(values.description ? { description: values.description } : {}),
        });
        return 0;
      case "token list":
        await tokenList(ctx);
        return 0;
      case "token revoke":
        await tokenRevoke(ctx, need("a token ID"));
        return 0;
      case "signing-key list":
        await signingKeyList(ctx);
        return 0;
      case "signing-key rotate":
        await signingKeyRotate(ctx);
        return 0;
      case "signing-key retire":
        await signingKeyRetire(ctx, need("a signing key ID"));
        return 0;
      case "cluster list":
        await clusterList(ctx, values.selector);
        return 0;
      case "cluster get":
        await clusterGet(ctx, need("a cluster NAME"));
        return 0;
      case "cluster set": {
        const labels = parseSettings(values.label ?? [], "--label");
        const variables = parseSettings(values.var ?? [], "--var");
        if (Object.keys(labels).length + Object.keys(variables).length === 0) throw new UsageError("gitfleet cluster set needs --label k=v or --var k=v");
        await clusterSet(ctx, need("a cluster NAME"), {
          ...(Object.keys(labels).length > 0 ? { labels } : {}),
          ...(Object.keys(variables).length > 0 ? { variables } : {}),
        });
        return 0;
      }
      case "cluster delete":
        await clusterDelete(ctx, need("a cluster NAME"));
        return 0;
      case "drift ":
        await driftList(ctx, driftFilters(values));
        return 0;
      case "drift summary": {
        const by = values.by ?? "cluster";
        if (!["cluster", "bundle", "kind", "manager"].includes(by)) throw new UsageError(`--by must be cluster, bundle, kind or manager, got "${by}"`);
        await driftSummary(ctx, by, driftFilters(values));
        return 0;
      }
      case "events ":
        await runEvents(ctx, { ...values, limit: values.limit === undefined ? undefined : parseCount(values.limit, "--limit") });
        return 0;
      default:
        throw new UsageError(`unknown command "${positionals.join(" ")}"\n\n${usage}`);
    }
  } catch (err) {
    console.error(`gitfleet: ${(err as Error).message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/** What `gitfleet diff` compares: FROM TO [--revision R], or --cluster X --revisions A..B. */
function diffRequest(
  names: readonly string[],
  values: { cluster?: string | undefined; revision?: string | undefined; revisions?: string | undefined },
): Parameters<typeof diffCommand>[1] {
  if (values.revisions !== undefined || values.cluster !== undefined) {
    if (names.length > 0 || values.revision !== undefined) throw new UsageError("gitfleet diff takes FROM TO [--revision R], or --cluster NAME --revisions A..B, not both");
    if (values.cluster === undefined || values.revisions === undefined) throw new UsageError("gitfleet diff --cluster NAME needs --revisions A..B, and --revisions needs --cluster");
    return { cluster: values.cluster, revisions: values.revisions };
  }
  const [from, to, extra] = names;
  if (from === undefined || to === undefined || extra !== undefined) throw new UsageError("gitfleet diff needs FROM and TO (each a cluster or a stage)");
  return { from, to, revision: values.revision };
}

/** The drift API's filters from the command's flags (the hub checks them). */
function driftFilters(values: { selector?: string | undefined } & DriftFilters): DriftFilters {
  const { selector, bundle, kind, namespace, name, state, manager, since } = values;
  return { clusterSelector: selector, bundle, kind, namespace, name, state, manager, since };
}

/** `gitfleet render`: works on a working tree, without a hub or a token. */
async function runRender(
  values: { output?: string | undefined; repo?: string | undefined; cluster?: string | undefined; labels?: string | undefined; var?: string[] | undefined; bundle?: string | undefined; check?: boolean | undefined; kustomize?: string | undefined },
  print: (s: string) => void,
): Promise<number> {
  const fail = (message: string, code: number): number => {
    console.error(`gitfleet: ${message}`);
    return code;
  };
  try {
    const check = values.check === true;
    const output = values.output ?? (check ? "table" : "yaml");
    const formats = check ? ["table", "json"] : ["yaml", "json"];
    if (!formats.includes(output)) return fail(`--output must be ${formats.join(" or ")} for render${check ? " --check" : ""}, got "${output}"`, 2);
    if (!values.repo) return fail("render needs --repo DIR, the fleet repository's working tree", 2);
    if (!check && !values.cluster) return fail("render needs --cluster NAME (or --check)", 2);
    const clusterProblem = values.cluster === undefined ? undefined : dnsLabelProblem(values.cluster);
    if (clusterProblem !== undefined) return fail(`--cluster: "${values.cluster}" ${clusterProblem}`, 2);
    const labels = values.labels ? labelsFlag(values.labels) : {};
    const variables: Record<string, string> = {};
    for (const [name, value] of Object.entries(parseSettings(values.var ?? [], "--var"))) {
      const problem = variableNameProblem(name);
      if (problem !== undefined) return fail(`--var: variable name "${name}" ${problem}`, 2);
      if (value === null) return fail(`--var ${name}-: removing a variable means nothing here; leave it out`, 2);
      variables[name] = value;
    }
    return await renderCommand({
      repo: values.repo,
      cluster: values.cluster,
      labels,
      variables,
      bundle: values.bundle,
      check,
      output: output as "yaml" | "json" | "table",
      kustomize: values.kustomize ?? "kustomize",
      print,
      printError: (message) => console.error(`gitfleet: ${message}`),
    });
  } catch (err) {
    return fail((err as Error).message, err instanceof UsageError ? 2 : 1);
  }
}

/** Parses repeated "k=v" flags; "k-" (as in kubectl label) stands for removing k. */
export function parseSettings(items: readonly string[], flag: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq > 0) out[item.slice(0, eq).trim()] = item.slice(eq + 1);
    else if (eq < 0 && item.endsWith("-") && item.length > 1) out[item.slice(0, -1)] = null;
    else throw new UsageError(`${flag}: "${item}" is not key=value (or key- to remove it)`);
  }
  return out;
}

/** The labels of `--labels k=v,k2=v2`; the first thing wrong with them is a usage error. */
function labelsFlag(text: string): Record<string, string> {
  const { labels, problems } = parseLabels(text, "--labels");
  if (problems[0] !== undefined) throw new UsageError(problems[0]);
  return labels;
}

function allowLabelsFlag(text: string): AllowedLabels {
  const { allowed, problems } = parseAllowedLabels(text, "--allow-labels");
  if (problems[0] !== undefined) throw new UsageError(problems[0]);
  return allowed;
}

function parseCount(text: string, flag = "--max-uses"): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1, got "${text}"`);
  return n;
}

/** `gitfleet events`; with --follow, Ctrl-C (or SIGTERM) ends it cleanly with status 0. */
async function runEvents(ctx: CommandContext, flags: Parameters<typeof eventsCommand>[1]): Promise<void> {
  await withInterrupt((signal) => eventsCommand(ctx, flags, signal, (text) => console.error(`gitfleet: ${text}`)));
}
