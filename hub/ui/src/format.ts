// Small formatting helpers.

/** The first 12 characters of a commit. */
export const short = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : "—");

/** A time as the browser's locale writes it; "—" for none. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}

/** `kind namespace/name`, or `kind name` for cluster-scoped objects. */
export function objectName(r: { kind: string; namespace: string; name: string }): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
}

/** Labels as a selector would write them. */
export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}
