// A hub stand-in for unit tests of the status stream: streams whose hub side the test drives.
// Not part of the build.
import { GrpcStatus, HubMessageSchema, RenewResponseSchema, RpcError, create } from "@gitfleet/proto";
import type { HubMessage, MessageInitShape, RenewResponse } from "@gitfleet/proto";
import type { status } from "@grpc/grpc-js";
import type { AgentMessageInit, HubClient, HubStream, RenewRequestInit } from "../hub-client.js";

/** One Connect stream as the fake hub sees it. */
export interface FakeStream extends HubStream {
  readonly token: string;
  readonly sent: AgentMessageInit[];
  readonly closed: boolean;
  /** The hub sends a message. */
  push(message: MessageInitShape<typeof HubMessageSchema>): void;
  /** The hub ends the stream with a status other than OK. */
  fail(code: status, message: string): void;
  /** The hub ends the stream with OK. */
  end(): void;
}

/** How the fake hub answers a Renew: a response (or its init shape), or a thrown RpcError. */
export type FakeRenewAnswer = (request: RenewRequestInit) => MessageInitShape<typeof RenewResponseSchema>;

/**
 * A fake hub: every connect() opens a new {@link FakeStream}; renew() records the request and
 * answers with `renewAnswer` (by default it refuses with UNIMPLEMENTED).
 */
export interface FakeHub extends Pick<HubClient, "connect" | "renew"> {
  readonly streams: FakeStream[];
  readonly renewals: RenewRequestInit[];
  renewAnswer: FakeRenewAnswer;
  /** While set, every new stream ends at once with this status (a hub that is away or refuses). */
  connectError: RpcError | undefined;
}

/** Creates a {@link FakeHub}. */
export function createFakeHub(): FakeHub {
  const streams: FakeStream[] = [];
  const renewals: RenewRequestInit[] = [];
  const hub: FakeHub = {
    streams,
    renewals,
    connectError: undefined,
    renewAnswer: () => {
      throw new RpcError(GrpcStatus.UNIMPLEMENTED, "Renew is not answered in this test");
    },
    connect(token) {
      const stream = createFakeStream(token);
      streams.push(stream);
      if (hub.connectError) stream.fail(hub.connectError.code, hub.connectError.message);
      return stream;
    },
    renew(request): Promise<RenewResponse> {
      renewals.push(request);
      try {
        return Promise.resolve(create(RenewResponseSchema, hub.renewAnswer(request)));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
  };
  return hub;
}

function createFakeStream(token: string): FakeStream {
  const queue: Array<HubMessage | Error | null> = [];
  let wake: (() => void) | undefined;
  const sent: AgentMessageInit[] = [];
  let closed = false;
  const enqueue = (item: HubMessage | Error | null): void => {
    queue.push(item);
    wake?.();
  };
  return {
    token,
    sent,
    get closed() {
      return closed;
    },
    push: (message) => enqueue(create(HubMessageSchema, message)),
    fail: (code, message) => enqueue(new RpcError(code, message)),
    end: () => enqueue(null),
    send(message) {
      if (closed) return false;
      sent.push(message);
      return true;
    },
    async *messages() {
      for (;;) {
        while (queue.length === 0) {
          if (closed) throw new RpcError(1, "Cancelled on client");
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
        const item = queue.shift();
        if (item === null || item === undefined) return;
        if (item instanceof Error) throw item;
        yield item;
      }
    },
    close() {
      closed = true;
      wake?.();
    },
  };
}
