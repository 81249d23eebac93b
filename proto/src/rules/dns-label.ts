// RFC 1123 names as Kubernetes checks them. Cluster names, bundle names and namespaces are DNS
// labels on both sides of the wire, so the hub and the agent refuse the same names.

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Why `name` is not an RFC 1123 DNS label (what cluster names, bundle names and namespaces
 * must be), or undefined when it is. The answer completes a sentence: `"Prod" must consist of ...`.
 */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > 63) return `must be at most 63 characters (has ${name.length})`;
  if (!dnsLabel.test(name)) {
    return "must consist of lowercase letters, digits and '-', and start and end with a letter or digit";
  }
  return undefined;
}

/** Why `name` is not an RFC 1123 DNS subdomain (dot-separated DNS labels), or undefined when it is. */
export function dnsSubdomainProblem(name: string): string | undefined {
  if (name.length > 253) return `must be at most 253 characters (has ${name.length})`;
  for (const part of name.split(".")) {
    if (dnsLabelProblem(part) !== undefined) {
      return "must be a DNS subdomain: lowercase dot-separated parts of letters, digits and '-'";
    }
  }
  return undefined;
}
