// Skipping a test because a tool is missing is a convenience for a developer who runs one file
// by hand. In CI nothing may be skipped that way: a green run must mean every test ran.

/** Whether this process runs under CI (`CI=true` or `CI=1`, as CI systems set it). */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env["CI"]?.toLowerCase();
  return value === "true" || value === "1";
}

/**
 * The `skip` option of a suite that needs a tool: `false` when the tool is there (`reason` is
 * false), else `reason`. Under CI a missing tool throws instead, so the test file fails with the
 * reason rather than skipping.
 */
export function skipUnlessTool(reason: string | false, env: NodeJS.ProcessEnv = process.env): string | false {
  if (reason === false) return false;
  if (underCi(env)) throw new Error(`${reason}; under CI=true a missing tool fails the run instead of skipping tests`);
  return reason;
}
