// The gRPC status codes, re-exported from a file of their own: a bundle that never uses them (the
// CLI's) then leaves @grpc/grpc-js out, since this package declares no side effects.
export { status as GrpcStatus } from "@grpc/grpc-js";
