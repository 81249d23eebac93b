// Test support shared by the hub's and the agent's fuzz targets (`@gitfleet/proto/test-support`):
// run counts, the unhandled-rejection guard, typed-refusal checks, and arbitrary gitfleet/v1
// messages. Tests only: nothing in the product imports it.
export * from "./fuzz.js";
export * from "./proto-arbitrary.js";
