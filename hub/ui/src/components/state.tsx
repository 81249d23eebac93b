// States shown as an icon, a word and a colour together: colour is never the only signal.
import type { BundleCell } from "../api.js";

type Tone = "ok" | "warn" | "bad" | "muted" | "busy";

const tones: Record<string, { tone: Tone; icon: string }> = {
  synced: { tone: "ok", icon: "✓" },
  healthy: { tone: "ok", icon: "♥" },
  "in-sync": { tone: "ok", icon: "✓" },
  "out-of-sync": { tone: "warn", icon: "≠" },
  applying: { tone: "busy", icon: "↻" },
  progressing: { tone: "busy", icon: "↻" },
  pending: { tone: "busy", icon: "…" },
  "rolling-out": { tone: "busy", icon: "↻" },
  committed: { tone: "busy", icon: "•" },
  failed: { tone: "bad", icon: "✗" },
  degraded: { tone: "bad", icon: "✗" },
  error: { tone: "bad", icon: "✗" },
  missing: { tone: "bad", icon: "∅" },
  conflict: { tone: "bad", icon: "⚔" },
  drifted: { tone: "warn", icon: "⚠" },
  verified: { tone: "ok", icon: "✓" },
  "rolled-back": { tone: "warn", icon: "↩" },
  stale: { tone: "muted", icon: "⌛" },
  unknown: { tone: "muted", icon: "?" },
  unspecified: { tone: "muted", icon: "–" },
  passed: { tone: "ok", icon: "✓" },
  blocked: { tone: "bad", icon: "✗" },
  connected: { tone: "ok", icon: "●" },
  disconnected: { tone: "muted", icon: "○" },
};

/** The tone and icon of a state word. */
export function toneOf(state: string): { tone: Tone; icon: string } {
  return tones[state] ?? { tone: "muted", icon: "•" };
}

/** A state as a badge: icon, word, colour. */
export function Badge(props: { state: string; label?: string; title?: string }) {
  const { tone, icon } = toneOf(props.state);
  return (
    <span class={`badge tone-${tone}`} title={props.title}>
      <span aria-hidden="true" class="icon">
        {icon}
      </span>
      {props.label ?? props.state}
    </span>
  );
}

/** The worst of a bundle cell's sync, health and drift, as one word. */
export function cellState(cell: BundleCell): string {
  if (cell.sync === "unknown") return "stale";
  if (cell.sync === "failed" || cell.health === "degraded" || cell.health === "missing") return "failed";
  if (cell.drifted > 0) return "drifted";
  if (cell.sync !== "synced") return cell.sync;
  if (cell.health !== "healthy") return cell.health;
  return "synced";
}

/** One cell of the overview grid: the bundle's state in a cluster, in icon and words. */
export function Cell(props: { cell: BundleCell | undefined }) {
  const { cell } = props;
  if (!cell) return <span class="cell tone-none">—<span class="sr-only">not deployed</span></span>;
  const state = cellState(cell);
  const { tone, icon } = toneOf(state);
  const words = `${cell.sync}, ${cell.health}${cell.drifted > 0 ? `, ${cell.drifted} drifted` : ""}`;
  return (
    <span class={`cell tone-${tone}`} title={words}>
      <span aria-hidden="true" class="icon">
        {icon}
      </span>
      <span class="cell-text">{state === "drifted" ? `drifted ${cell.drifted}` : state}</span>
      <span class="sr-only">: {words}</span>
    </span>
  );
}
