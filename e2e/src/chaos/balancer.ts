// One address for every hub replica, as a Kubernetes Service gives agents: a TCP balancer on
// loopback that hands each new connection to the next replica that accepts it (round robin,
// skipping replicas that refuse). It injects no faults; toxiproxy does that in front of it.
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A running balancer. */
export interface Balancer {
  /** "127.0.0.1:PORT". */
  readonly address: string;
  readonly port: number;
  /** Replaces the upstreams ("127.0.0.1:PORT" each). */
  setUpstreams(upstreams: readonly string[]): void;
  /** Connections handed to each upstream so far. */
  readonly handed: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/** Starts a balancer over `upstreams`. */
export async function startBalancer(upstreams: readonly string[]): Promise<Balancer> {
  let targets = [...upstreams];
  let next = 0;
  const handed = new Map<string, number>();
  const sockets = new Set<Socket>();
  const connectAny = (tries: number, client: Socket): void => {
    if (tries >= targets.length || client.destroyed) {
      client.destroy();
      return;
    }
    const target = targets[next++ % targets.length] ?? "";
    const [host, port] = target.split(":");
    const upstream = createConnection({ host: host ?? "127.0.0.1", port: Number(port) });
    const onError = (): void => {
      upstream.destroy();
      connectAny(tries + 1, client);
    };
    upstream.once("error", onError);
    upstream.once("connect", () => {
      upstream.off("error", onError);
      handed.set(target, (handed.get(target) ?? 0) + 1);
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    connectAny(0, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    handed,
    setUpstreams(list) {
      targets = [...list];
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
