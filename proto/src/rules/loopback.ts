// Which hosts are loopback: the one place where plaintext (no TLS) is allowed without an
// explicit flag, because the traffic never leaves the machine.
import { isIP } from "node:net";

/**
 * True when `host` (a name or an IP address, IPv6 with or without brackets) names this machine
 * only: "localhost" (and names under ".localhost"), 127.0.0.0/8, ::1, or an IPv4-mapped
 * 127.x address. The unspecified addresses (0.0.0.0, ::) are not loopback: they listen on
 * every interface.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  switch (isIP(h)) {
    case 4:
      return h.startsWith("127.");
    case 6: {
      if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
      const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
      return mapped?.[1] !== undefined && mapped[1].startsWith("127.");
    }
    default:
      return false;
  }
}
