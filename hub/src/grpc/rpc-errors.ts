import { RpcError } from "@gitfleet/proto";
import { grpcStatusOf, HubError } from "../errors.js";

/**
 * Maps an error at the gRPC edge: a HubError keeps its message with the status
 * of its code; anything else passes through, and the bridge turns it into
 * INTERNAL with a fixed message (logging the real cause).
 */
export function toAgentRpcError(err: unknown): unknown {
  if (err instanceof RpcError) return err;
  if (err instanceof HubError) return new RpcError(grpcStatusOf[err.code], err.message, { cause: err });
  return err;
}
