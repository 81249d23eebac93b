// Validation of RegisterRequest: everything an agent sends is untrusted.
import type { RegisterRequest } from "@gitfleet/proto";
import { fromPublic } from "@nats-io/nkeys";
import { HubError } from "../errors.js";
import { dnsLabelProblem, labelProblems } from "@gitfleet/proto/rules";

const maxLabels = 64;
const maxVersionLength = 128;

/** A RegisterRequest whose fields have been checked. */
export interface ValidRegisterRequest {
  token: string;
  clusterName: string;
  labels: Record<string, string>;
  agentVersion: string;
  kubernetesVersion: string;
  natsUserPublicKey: string;
  signingPublicKey: string;
}

/**
 * What is wrong with a public nkey an agent sent, or undefined when it is valid; with
 * `wantPrefix` "U" it must also be a user key.
 */
export function nkeyProblem(key: string, wantPrefix: string | undefined): string | undefined {
  if (key.length === 0) return "is missing";
  try {
    fromPublic(key);
  } catch {
    return "is not a valid public nkey";
  }
  if (wantPrefix !== undefined && !key.startsWith(wantPrefix)) {
    return `must be a ${wantPrefix}... (user) public nkey`;
  }
  return undefined;
}

/**
 * Checks a RegisterRequest and returns its fields; throws HubError
 * `invalid-argument` naming every field that is wrong. The token itself is
 * checked by the token store.
 */
export function validateRegisterRequest(request: RegisterRequest): ValidRegisterRequest {
  const problems: string[] = [];
  const nameProblem = dnsLabelProblem(request.clusterName);
  if (nameProblem !== undefined) {
    problems.push(`cluster_name ${JSON.stringify(request.clusterName)} is not a DNS label: it ${nameProblem}`);
  }
  const labelCount = Object.keys(request.labels).length;
  if (labelCount > maxLabels) problems.push(`labels: at most ${maxLabels} labels are allowed (got ${labelCount})`);
  else problems.push(...labelProblems(request.labels, "labels"));
  const natsKey = request.keys?.natsUserPublicKey ?? "";
  const signingKey = request.keys?.signingPublicKey ?? "";
  const natsProblem = nkeyProblem(natsKey, "U");
  if (natsProblem !== undefined) problems.push(`keys.nats_user_public_key ${natsProblem}`);
  const signingProblem = nkeyProblem(signingKey, undefined);
  if (signingProblem !== undefined) problems.push(`keys.signing_public_key ${signingProblem}`);
  if (request.agentVersion.length > maxVersionLength) problems.push("agent_version is too long");
  if (request.kubernetesVersion.length > maxVersionLength) problems.push("kubernetes_version is too long");
  if (problems.length > 0) {
    throw new HubError("invalid-argument", `invalid RegisterRequest: ${problems.join("; ")}`);
  }
  return {
    token: request.token,
    clusterName: request.clusterName,
    labels: { ...request.labels },
    agentVersion: request.agentVersion,
    kubernetesVersion: request.kubernetesVersion,
    natsUserPublicKey: natsKey,
    signingPublicKey: signingKey,
  };
}
