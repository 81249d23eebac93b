// The environment variables the `gitfleet` CLI reads, in one place. To the CLI, GITFLEET_HUB is
// the hub API's URL and GITFLEET_TOKEN an API token; the agent has names of its own for its hub
// gRPC address and registration token (GITFLEET_HUB_ADDRESS, GITFLEET_REGISTRATION_TOKEN).

/** Setting -> environment variable of the CLI. */
export const cliEnv = {
  hub: "GITFLEET_HUB",
  token: "GITFLEET_TOKEN",
  kustomize: "GITFLEET_KUSTOMIZE",
} as const;

/** The hub API address when neither --hub nor GITFLEET_HUB is given. */
export const defaultHubUrl = "http://127.0.0.1:8080";

/** The CLI's settings from the environment; empty values count as unset. */
export interface CliEnvironment {
  hub: string | undefined;
  token: string | undefined;
  kustomize: string | undefined;
}

/** Reads the CLI's variables from `env`. */
export function readCliEnvironment(env: Readonly<Record<string, string | undefined>>): CliEnvironment {
  const read = (name: string): string | undefined => env[name] || undefined;
  return { hub: read(cliEnv.hub), token: read(cliEnv.token), kustomize: read(cliEnv.kustomize) };
}
