// Field by field comparison of two JSON values (two renders of one Kubernetes object): every
// differing field as a JSON pointer with both values. Lists that Kubernetes merges by a key
// (containers, env, ports, volumes, ...) are matched by that key, so one inserted container does
// not make every later one "differ"; any other list is compared by index. Pure.

/** One field that differs between the two sides. */
export interface FieldChange {
  /**
   * JSON pointer (RFC 6901) of the field: the index of a list item is its index on the `to` side,
   * or on the `from` side for an item only `from` has.
   */
  readonly path: string;
  /** The same field for people: `spec.template.spec.containers[name=web].image`. */
  readonly field: string;
  /** The value on the `from` side; absent when the field is absent there. */
  readonly from?: unknown;
  /** The value on the `to` side; absent when the field is absent there. */
  readonly to?: unknown;
}

/**
 * List fields whose items Kubernetes merges by a key (strategic merge patch keys), by field name.
 * A list is matched by its key only when every item on both sides has a distinct string value
 * for it; otherwise it is compared by index.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  ports: "name",
  volumes: "name",
  imagePullSecrets: "name",
  resourceClaims: "name",
  schedulingGates: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  hostAliases: "ip",
  topologySpreadConstraints: "topologyKey",
};

type Segment = { readonly pointer: string; readonly label: string };

/** Every field that differs between `from` and `to`, in document order (map keys sorted). */
export function diffFields(from: unknown, to: unknown): FieldChange[] {
  const changes: FieldChange[] = [];
  walk(from, to, [], undefined, changes);
  return changes;
}

function walk(from: unknown, to: unknown, at: readonly Segment[], field: string | undefined, out: FieldChange[]): void {
  if (from === undefined && to === undefined) return;
  if (from === undefined || to === undefined) {
    out.push(change(at, from, to));
    return;
  }
  if (isPlainObject(from) && isPlainObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort(compareCodeUnits);
    for (const key of keys) walk(from[key], to[key], [...at, { pointer: escapePointer(key), label: keyLabel(key, at.length === 0) }], key, out);
    return;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const key = field === undefined ? undefined : MERGE_KEYS[field];
    if (key !== undefined && keyedBy(from, key) && keyedBy(to, key)) walkKeyed(from, to, key, at, out);
    else walkIndexed(from, to, at, out);
    return;
  }
  if (!jsonEqual(from, to)) out.push(change(at, from, to));
}

function walkIndexed(from: readonly unknown[], to: readonly unknown[], at: readonly Segment[], out: FieldChange[]): void {
  for (let i = 0; i < Math.max(from.length, to.length); i++) walk(from[i], to[i], [...at, { pointer: String(i), label: `[${i}]` }], undefined, out);
}

function walkKeyed(from: readonly unknown[], to: readonly unknown[], key: string, at: readonly Segment[], out: FieldChange[]): void {
  const keyOf = (item: unknown): string => (item as Record<string, string>)[key] as string;
  const fromIndex = new Map(from.map((item, i) => [keyOf(item), i]));
  const segment = (name: string, index: number): Segment => ({ pointer: String(index), label: `[${key}=${name}]` });
  // Items of `to` in its order (changed or added), then the items only `from` has (removed).
  to.forEach((item, i) => {
    const name = keyOf(item);
    const j = fromIndex.get(name);
    walk(j === undefined ? undefined : from[j], item, [...at, segment(name, i)], undefined, out);
  });
  const toKeys = new Set(to.map(keyOf));
  from.forEach((item, j) => {
    const name = keyOf(item);
    if (!toKeys.has(name)) walk(item, undefined, [...at, segment(name, j)], undefined, out);
  });
}

function keyedBy(items: readonly unknown[], key: string): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    const value = isPlainObject(item) ? item[key] : undefined;
    if (typeof value !== "string" || seen.has(value)) return false;
    seen.add(value);
  }
  return true;
}

function change(at: readonly Segment[], from: unknown, to: unknown): FieldChange {
  return {
    path: at.map((s) => `/${s.pointer}`).join(""),
    field: at.map((s) => s.label).join("") || "(whole object)",
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  };
}

/** `labels` after a dot, or `["app.kubernetes.io/name"]` for keys a dotted path cannot hold. */
function keyLabel(key: string, first: boolean): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return first ? key : `.${key}`;
  return `[${JSON.stringify(key)}]`;
}

/** Escapes one JSON pointer reference token (RFC 6901: `~` as `~0`, `/` as `~1`). */
export function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Structural equality of JSON values (map key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** True for a JSON object (not an array or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
