import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A self-signed serving certificate for 127.0.0.1 and localhost. */
export interface SelfSignedCert {
  certPath: string;
  keyPath: string;
  certPem: Buffer;
}

/** Makes a self-signed ECDSA certificate with openssl (Node has no X.509 writer). */
export async function selfSignedCert(dir: string, name = "gitfleet-hub"): Promise<SelfSignedCert> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", `/CN=${name}`,
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  return { certPath, keyPath, certPem: await readFile(certPath) };
}
