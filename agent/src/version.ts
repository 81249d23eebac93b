import { PRODUCT_VERSION } from "@gitfleet/proto/rules";

/** The agent's version, sent in Register and every StatusReport: the product's version. */
export const AGENT_VERSION = PRODUCT_VERSION;
