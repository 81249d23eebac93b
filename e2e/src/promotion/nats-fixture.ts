// A lab NATS server and connections to it, for the promotion stores' tests.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { startNats, type NatsLab } from "../lab/nats.js";
import { skipUnlessTool } from "../lab/skip.js";

const binary = process.env["GITFLEET_NATS_SERVER_BIN"];

/** The skip reason of a suite that needs nats-server, or false. */
export const skipWithoutNats = skipUnlessTool(binary ? false : "GITFLEET_NATS_SERVER_BIN is not set (path of a nats-server binary)");

/** A running server and a way to open more connections (as more hub replicas would). */
export interface NatsFixture {
  readonly lab: NatsLab;
  /** A new connection of the unrestricted user; closed by stop(). */
  connect(): Promise<NatsConnection>;
  /** A Kvm on a new connection. */
  kvm(): Promise<Kvm>;
  stop(): Promise<void>;
}

/** Starts nats-server in a temp folder. */
export async function startNatsFixture(prefix: string): Promise<NatsFixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const lab = await startNats({ binary: binary ?? "", dir });
  const creds = await readFile(lab.adminCredsPath);
  const connections: NatsConnection[] = [];
  const open = async (): Promise<NatsConnection> => {
    const nc = await connect({ servers: lab.url, authenticator: credsAuthenticator(creds) });
    connections.push(nc);
    return nc;
  };
  return {
    lab,
    connect: open,
    kvm: async () => new Kvm(await open()),
    async stop() {
      await Promise.all(connections.map((nc) => nc.close()));
      await lab.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
