// `gitfleet`: the admin CLI of the hub API.
import { parseArgs } from "node:util";
import {
  clusterDelete,
  clusterGet,
  clusterList,
  tokenCreate,
  tokenList,
  tokenRevoke,
  type CommandContext,
} from "./commands.js";
import { createHubClient } from "./hub-client.js";

const usage = `usage: gitfleet <command> [flags]

commands:
  token create [--ttl 1h] [--max-uses N] [--labels k=v,...] [--description TEXT]
  token list
  token revoke ID
  cluster list [--selector SELECTOR]
  cluster get NAME
  cluster delete NAME

flags:
  --hub URL        hub API address (env GITFLEET_HUB, default http://127.0.0.1:8080)
  --token TOKEN    API token (env GITFLEET_TOKEN)
  -o, --output     table (default) or json`;

/** Runs the CLI with the given arguments; returns the exit code. */
export async function runCli(argv: readonly string[], print: (s: string) => void = console.log): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        hub: { type: "string" },
        token: { type: "string" },
        output: { type: "string", short: "o", default: "table" },
        ttl: { type: "string" },
        "max-uses": { type: "string" },
        labels: { type: "string" },
        description: { type: "string" },
        selector: { type: "string", short: "l" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`gitfleet: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [group, verb, arg] = positionals;
  if (values.help || !group) {
    print(usage);
    return values.help ? 0 : 2;
  }
  if (values.output !== "table" && values.output !== "json") {
    console.error(`gitfleet: --output must be table or json, got "${values.output}"`);
    return 2;
  }
  const token = values.token ?? process.env["GITFLEET_TOKEN"];
  if (!token) {
    console.error("gitfleet: no API token; pass --token or set GITFLEET_TOKEN");
    return 2;
  }
  const ctx: CommandContext = {
    hub: createHubClient({ url: values.hub ?? process.env["GITFLEET_HUB"] ?? "http://127.0.0.1:8080", token }),
    output: values.output,
    print,
  };
  const need = (what: string): string => {
    if (!arg) throw new UsageError(`gitfleet ${group} ${verb} needs ${what}`);
    return arg;
  };
  try {
    switch (`${group} ${verb ?? ""}`) {
      case "token create":
        await tokenCreate(ctx, {
          ...(values.ttl ? { ttl: values.ttl } : {}),
          ...(values["max-uses"] ? { maxUses: parseCount(values["max-uses"]) } : {}),
          ...(values.labels ? { labels: parseLabels(values.labels) } : {}),
          ...(values.description ? { description: values.description } : {}),
        });
        return 0;
      case "token list":
        await tokenList(ctx);
        return 0;
      case "token revoke":
        await tokenRevoke(ctx, need("a token ID"));
        return 0;
      case "cluster list":
        await clusterList(ctx, values.selector);
        return 0;
      case "cluster get":
        await clusterGet(ctx, need("a cluster NAME"));
        return 0;
      case "cluster delete":
        await clusterDelete(ctx, need("a cluster NAME"));
        return 0;
      default:
        throw new UsageError(`unknown command "${positionals.join(" ")}"\n\n${usage}`);
    }
  } catch (err) {
    console.error(`gitfleet: ${(err as Error).message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

class UsageError extends Error {}

/** Parses "k=v,k2=v2" into a label map. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--labels: "${pair}" is not key=value`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--max-uses must be a whole number of at least 1, got "${text}"`);
  return n;
}
