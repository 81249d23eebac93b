// Sign-in: an API token, checked with GET /whoami and kept for this tab's session only.
import { useState } from "preact/hooks";
import { api, ApiError, type Caller } from "../api.js";

/** The sign-in form. */
export function SignIn(props: { onSignedIn: (token: string, caller: Caller) => void; message?: string | undefined }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(props.message);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const caller = await api<Caller>("/whoami", { token: token.trim() });
      props.onSignedIn(token.trim(), caller);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "The hub does not accept this token." : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in" id="main">
      <h1>gitfleet</h1>
      <p>Sign in with an API token of the hub (viewer or admin). It is kept in this browser tab only, until you close it or sign out.</p>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby={error ? "sign-in-error" : undefined}
          autoFocus
        />
        <button type="submit" class="primary" disabled={busy || token.trim() === ""}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p id="sign-in-error" role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
