// The inventory of a bundle: which objects the agent applied for it, kept in a ConfigMap in the
// agent's namespace, so pruning after a restart deletes what the agent created and nothing else.
import { isNotFound } from "./errors.js";
import { asRecord, refKey } from "./kube-objects.js";
import type { ObjectRef } from "./kube-objects.js";
import type { KubeClient } from "./kube-client.js";
import { orderForPrune } from "./ordering.js";

/** What the agent last applied for one bundle. */
export interface Inventory {
  bundle: string;
  /** Digest of the payload last applied completely; "" when none was. */
  digest: string;
  /** Commit of that payload. */
  revision: string;
  /** The bundle's prune policy when it was last applied; decides what happens when it leaves. */
  prune: boolean;
  /** When that digest was first applied completely (ISO 8601); "" when never. */
  appliedAt: string;
  /** Objects applied for the bundle and not pruned since. */
  objects: ObjectRef[];
}

/** Where inventories live; the real one uses ConfigMaps, tests use a map. */
export interface InventoryStore {
  get(bundle: string): Promise<Inventory | undefined>;
  put(inventory: Inventory): Promise<void>;
  remove(bundle: string): Promise<void>;
  list(): Promise<Inventory[]>;
}

/** Options of {@link selectPrunable}. */
export interface PruneSelection {
  /** The bundle's inventory: what it applied before. */
  inventory: readonly ObjectRef[];
  /** What the bundle holds now. */
  desired: readonly ObjectRef[];
  /** Keys ({@link refKey}) of objects other bundles hold now; an object that moved is never pruned. */
  claimedElsewhere?: ReadonlySet<string>;
}

/**
 * Picks the objects to prune: in the inventory, no longer desired by this bundle and not
 * claimed by another bundle, in delete order (CRs before CRDs before Namespaces). Objects
 * outside the inventory are never selected.
 */
export function selectPrunable(selection: PruneSelection): ObjectRef[] {
  const desired = new Set(selection.desired.map(refKey));
  const seen = new Set<string>();
  const prunable: ObjectRef[] = [];
  for (const ref of selection.inventory) {
    const key = refKey(ref);
    if (desired.has(key) || selection.claimedElsewhere?.has(key) || seen.has(key)) continue;
    seen.add(key);
    prunable.push(ref);
  }
  return orderForPrune(prunable, (ref) => ref);
}

/** Unites reference lists without duplicates; later lists win for the version of a repeated object. */
export function mergeRefs(...lists: ReadonlyArray<readonly ObjectRef[]>): ObjectRef[] {
  const byKey = new Map<string, ObjectRef>();
  for (const list of lists) for (const ref of list) byKey.set(refKey(ref), ref);
  return [...byKey.values()];
}

/** Name of a bundle's inventory ConfigMap. */
export function inventoryName(bundle: string): string {
  return `gitfleet-inventory-${bundle}`;
}

/** Label that marks a ConfigMap of the agent's namespace as an inventory. */
export const INVENTORY_LABEL = "gitfleet.io/inventory";
const DATA_KEY = "inventory.json";

/** Options of {@link createConfigMapInventoryStore}. */
export interface ConfigMapInventoryStoreOptions {
  kube: KubeClient;
  /** The agent's namespace. */
  namespace: string;
}

/** Keeps each inventory in a ConfigMap `gitfleet-inventory-<bundle>` in the agent's namespace. */
export function createConfigMapInventoryStore(options: ConfigMapInventoryStoreOptions): InventoryStore {
  const { kube, namespace } = options;
  const refFor = (bundle: string): ObjectRef => ({
    group: "",
    version: "v1",
    kind: "ConfigMap",
    namespace,
    name: inventoryName(bundle),
  });
  return {
    async get(bundle) {
      const object = await kube.get(refFor(bundle));
      return object ? decodeInventory(object, bundle) : undefined;
    },
    async put(inventory) {
      await kube.apply({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: inventoryName(inventory.bundle),
          namespace,
          labels: {
            "app.kubernetes.io/managed-by": "gitfleet-agent",
            [INVENTORY_LABEL]: "true",
            "gitfleet.io/bundle": inventory.bundle,
          },
        },
        data: { [DATA_KEY]: JSON.stringify(inventory) },
      });
    },
    async remove(bundle) {
      try {
        await kube.delete(refFor(bundle));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    async list() {
      const items = await kube.list({ apiVersion: "v1", kind: "ConfigMap", namespace, labelSelector: `${INVENTORY_LABEL}=true` });
      const inventories: Inventory[] = [];
      for (const item of items) {
        const bundle = item.metadata.labels?.["gitfleet.io/bundle"];
        if (bundle) inventories.push(decodeInventory(item, bundle));
      }
      return inventories;
    },
  };
}

/**
 * Reads an inventory ConfigMap. A damaged one yields an empty inventory rather than an error:
 * the agent then prunes nothing it cannot name, which is the safe side.
 */
function decodeInventory(object: Record<string, unknown>, bundle: string): Inventory {
  const empty: Inventory = { bundle, digest: "", revision: "", prune: false, appliedAt: "", objects: [] };
  const raw = asRecord(object["data"])?.[DATA_KEY];
  if (typeof raw !== "string") return empty;
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = asRecord(JSON.parse(raw));
  } catch {
    return empty;
  }
  if (!parsed) return empty;
  const text = (key: string): string => (typeof parsed[key] === "string" ? parsed[key] : "");
  const objects = Array.isArray(parsed["objects"]) ? parsed["objects"].filter(isObjectRef) : [];
  return {
    bundle,
    digest: text("digest"),
    revision: text("revision"),
    prune: parsed["prune"] === true,
    appliedAt: text("appliedAt"),
    objects,
  };
}

function isObjectRef(value: unknown): value is ObjectRef {
  const r = asRecord(value);
  return (
    !!r &&
    ["group", "version", "kind", "namespace", "name"].every((k) => typeof r[k] === "string") &&
    r["kind"] !== "" &&
    r["name"] !== "" &&
    r["version"] !== ""
  );
}
