// The agent's V8 settings, applied before anything else is loaded (main.ts imports this first).
// A young generation of at most 1 MiB per semi-space instead of V8's 16 MiB: an agent at rest
// allocates little, and the default lets the young generation hold up to 32 MiB of resident
// memory that a small agent does not need (docs/benchmarks.md, the agent at rest). A
// --max-semi-space-size given on the command line or in NODE_OPTIONS wins.
import { setFlagsFromString } from "node:v8";

/** The semi-space size the agent runs with unless told otherwise, in MiB. */
export const AGENT_SEMI_SPACE_MIB = 1;

const given = [...process.execArgv, process.env["NODE_OPTIONS"] ?? ""].some((arg) => /--max[-_]semi[-_]space[-_]size/.test(arg));
if (!given) setFlagsFromString(`--max-semi-space-size=${AGENT_SEMI_SPACE_MIB}`);
