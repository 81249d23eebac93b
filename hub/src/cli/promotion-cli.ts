// The promote, promotion and pipeline commands of the CLI: their arguments and flags, checked,
// handed to their handlers.
import { UsageError, withInterrupt } from "./cli-support.js";
import type { CommandContext } from "./commands.js";
import { pipelineGet, pipelineList, pipelineResume } from "./pipeline-commands.js";
import { promote, promotionGet, promotionList, promotionRollback } from "./promotion-commands.js";

/** The flags these commands read. */
export interface PromotionFlags {
  from?: string | undefined;
  to?: string | undefined;
  pipeline?: string | undefined;
  state?: string | undefined;
  limit?: number | undefined;
  "dry-run"?: boolean | undefined;
  wait?: boolean | undefined;
}

/** Runs `gitfleet promote|promotion|pipeline ...`; undefined when `group` is none of them. */
export async function runPromotionCommand(ctx: CommandContext, positionals: readonly string[], flags: PromotionFlags): Promise<number | undefined> {
  const [group, verb, arg] = positionals;
  const need = (what: string): string => {
    if (!arg) throw new UsageError(`gitfleet ${group} ${verb} needs ${what}`);
    return arg;
  };
  if (group === "promote") {
    if (!verb) throw new UsageError("gitfleet promote needs a PIPELINE, e.g. gitfleet promote web --from staging --to prod-us");
    if (!flags.from || !flags.to) throw new UsageError("gitfleet promote needs --from STAGE and --to STAGE");
    const request = { pipeline: verb, from: flags.from, to: flags.to, dryRun: flags["dry-run"], wait: flags.wait };
    return await withInterrupt((signal) => promote(ctx, request, { signal }));
  }
  switch (`${group} ${verb ?? ""}`) {
    case "promotion list":
      await promotionList(ctx, { pipeline: flags.pipeline, state: flags.state, limit: flags.limit });
      return 0;
    case "promotion get":
      await promotionGet(ctx, need("a promotion ID"));
      return 0;
    case "promotion rollback":
      return await withInterrupt((signal) => promotionRollback(ctx, need("a promotion ID"), { dryRun: flags["dry-run"], wait: flags.wait }, { signal }));
    case "pipeline list":
      await pipelineList(ctx);
      return 0;
    case "pipeline get":
      await pipelineGet(ctx, need("a pipeline NAME"));
      return 0;
    case "pipeline resume":
      await pipelineResume(ctx, need("a pipeline NAME"));
      return 0;
    default:
      return undefined;
  }
}
