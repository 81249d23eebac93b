// The product's version and the rule of which agents a hub accepts. gitfleet has one version for
// everything it ships (the CLI, the hub, the agent, their packages and charts); a test keeps every
// manifest in step with PRODUCT_VERSION, and `npm run set-version -- X.Y.Z` changes them all at once.

/** The version of this build of gitfleet: every binary prints it with --version. */
export const PRODUCT_VERSION = "0.1.0";

/** A parsed MAJOR.MINOR.PATCH version; a pre-release or build suffix is kept as text. */
export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** What followed "-" or "+", e.g. "rc.1"; empty for a release. */
  suffix: string;
}

const versionPattern = /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:[-+]([0-9A-Za-z.+-]{1,64}))?$/;

/** Parses "1.2.3", "v1.2.3" or "1.2.3-rc.1"; undefined when the text is not such a version. */
export function parseVersion(text: string): Version | undefined {
  const m = versionPattern.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), suffix: m[4] ?? "" };
}

/** Orders two versions by major, minor and patch (suffixes are not ordered): <0, 0 or >0. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Whether `agentVersion` is a version older than `hubVersion` (false when either is not a version). */
export function isOlderVersion(agentVersion: string, hubVersion: string): boolean {
  const agent = parseVersion(agentVersion);
  const hub = parseVersion(hubVersion);
  return agent !== undefined && hub !== undefined && compareVersions(agent, hub) < 0;
}

/** The agent versions a hub accepts, as text for people: "0.1.x or 0.2.x". */
export function acceptedAgentVersions(hubVersion: string): string {
  const hub = parseVersion(hubVersion);
  if (!hub) return "none (the hub's own version is not MAJOR.MINOR.PATCH)";
  const current = `${hub.major}.${hub.minor}.x`;
  return hub.minor === 0 ? current : `${hub.major}.${hub.minor - 1}.x or ${current}`;
}

/**
 * Why a hub of `hubVersion` refuses an agent of `agentVersion`, or undefined when it accepts it.
 * The rule (docs/protocol.md "Versions"): an agent must have the hub's major version and the
 * hub's minor version or the one before; any patch. Newer agents are refused, because they may
 * rely on what this hub does not know yet: upgrade the hub first, then the agents.
 */
export function agentVersionProblem(agentVersion: string, hubVersion: string): string | undefined {
  const agent = parseVersion(agentVersion);
  if (!agent) {
    return agentVersion === ""
      ? "the agent sent no version"
      : `the agent's version ${JSON.stringify(agentVersion.slice(0, 64))} is not MAJOR.MINOR.PATCH`;
  }
  const hub = parseVersion(hubVersion);
  if (!hub) return `the hub's own version ${JSON.stringify(hubVersion)} is not MAJOR.MINOR.PATCH`;
  const accepted = `this hub (${hubVersion}) accepts agents ${acceptedAgentVersions(hubVersion)}`;
  if (agent.major > hub.major || (agent.major === hub.major && agent.minor > hub.minor)) {
    return `agent ${agentVersion} is newer than the hub: ${accepted}; upgrade the hub first, then the agents`;
  }
  if (agent.major < hub.major || agent.minor < hub.minor - 1) {
    return `agent ${agentVersion} is too old: ${accepted}; upgrade the agent to ${hub.major}.${hub.minor}.x`;
  }
  return undefined;
}
