// The API token of this browser tab: kept in sessionStorage only, so it goes with the tab.
const key = "gitfleet.token";

/** The token signed in with, or undefined. */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(key) ?? undefined;
}

/** Keeps `token` for this tab's session. */
export function storeToken(token: string): void {
  sessionStorage.setItem(key, token);
}

/** Forgets the token (sign out). */
export function clearToken(): void {
  sessionStorage.removeItem(key);
}
