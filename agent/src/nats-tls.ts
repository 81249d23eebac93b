// How the agent secures its NATS connection: TLS is required unless every server the hub named
// is on the loopback interface (a lab, or a sidecar). A private CA is given with --nats-ca.
import { isIP } from "node:net";

/** The TLS settings of the agent's NATS connection, as the client takes them. */
export interface NatsTls {
  /** Set (possibly empty) to require TLS; undefined allows plain TCP (loopback only). */
  tls: { ca?: string } | undefined;
  /** Why TLS is required, to put in a connection error; undefined when it is not. */
  requiredBecause: string | undefined;
}

/** True for 127.0.0.0/8, ::1 and "localhost" (any case), with or without a scheme and port. */
export function isLoopbackServer(server: string): boolean {
  const host = hostOf(server).toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const version = isIP(host);
  if (version === 4) return host.startsWith("127.");
  if (version === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

/**
 * The TLS to use for `servers`: TLS verified by `caPem` when given; none when every server is
 * loopback; otherwise TLS verified by the system's roots, so that an agent never talks to a
 * remote NATS in the clear.
 */
export function natsTlsFor(servers: readonly string[], caPem: string | undefined): NatsTls {
  if (caPem !== undefined) return { tls: { ca: caPem }, requiredBecause: "--nats-ca was given" };
  const remote = servers.filter((server) => !isLoopbackServer(server));
  if (remote.length === 0 && servers.length > 0) return { tls: undefined, requiredBecause: undefined };
  return { tls: {}, requiredBecause: `${remote.join(", ") || "no server"} is not a loopback address` };
}

/** The error to log when a connection that requires TLS failed. */
export function natsTlsHint(tls: NatsTls): string {
  if (tls.requiredBecause === undefined) return "";
  return ` (the agent requires TLS to NATS because ${tls.requiredBecause}: the server must speak TLS, with a certificate the system roots or the CA of --nats-ca FILE / GITFLEET_NATS_CA verify)`;
}

function hostOf(server: string): string {
  let rest = server.trim().replace(/^[a-z]+:\/\//i, "");
  const at = rest.lastIndexOf("@");
  if (at >= 0) rest = rest.slice(at + 1);
  rest = rest.replace(/\/.*$/, "");
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    return end > 0 ? rest.slice(1, end) : rest;
  }
  // "host:port", or a bare IPv6 address (more than one colon).
  const colons = rest.split(":").length - 1;
  return colons === 1 ? rest.slice(0, rest.indexOf(":")) : rest;
}
