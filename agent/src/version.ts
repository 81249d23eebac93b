/** The agent's version, sent in Register and every StatusReport; kept in step with package.json. */
export const AGENT_VERSION = "0.1.0";
