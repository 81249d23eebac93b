// How a promotion or a rollback reads in Git: its commit subject, body, trailers and author, and
// how its values are named in messages ("registry.example.com/web:1.4.2").
import type { PromotedValue, PromotionRecord } from "./contracts.js";

/** The author of automatic promotions and rollbacks. */
export const AUTOMATIC_AUTHOR = "gitfleet";

/** One value as messages show it: an image reference, `path=value`, or a file and its digest. */
export function describeValue(value: PromotedValue): string {
  switch (value.kind) {
    case "image":
      return value.value ?? `${value.key} (no image set)`;
    case "field":
      return `${value.key}=${value.value ?? "(absent)"}`;
    case "file":
      return value.value === undefined ? `${value.file} (absent)` : `${value.file} (sha256 ${value.value.slice(0, 12)})`;
  }
}

/** The values, comma-separated; shortened past `max` characters. */
export function describeValues(values: readonly PromotedValue[], max = 120): string {
  const text = values.map(describeValue).join(", ");
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const short = (sha: string) => sha.slice(0, 7);

/** The commit message of a promotion or rollback record: subject, body listing values, trailers. */
export function commitMessage(record: PromotionRecord): string {
  const { pipeline, from, to } = record;
  const values = describeValues(record.values.map((v) => ({ ...v, value: shortImage(v) })), 60);
  const subject =
    record.kind === "rollback"
      ? `roll back ${pipeline}: ${to.stage} (${values})`
      : `promote ${pipeline}: ${from.stage} → ${to.stage} (${values})`;
  const body =
    record.kind === "rollback"
      ? [`Reverts promotion ${record.rollbackOf ?? "?"} in stage ${to.stage}, which now runs:`]
      : [`Stage ${to.stage} now runs what ${from.stage} runs at ${short(from.commit)}:`];
  for (const value of record.values) body.push(`- ${describeValue(value)} (${value.file})`);
  const trailers = [`Gitfleet-Promotion: ${record.id}`, `Gitfleet-Pipeline: ${pipeline}`, `Gitfleet-From: ${from.stage}@${from.commit}`];
  if (record.rollbackOf) trailers.push(`Gitfleet-Rollback-Of: ${record.rollbackOf}`);
  return `${subject}\n\n${body.join("\n")}\n\n${trailers.join("\n")}\n`;
}

// "web:1.4.2" rather than "registry.example.com/web:1.4.2" in a subject line.
function shortImage(value: PromotedValue): string | undefined {
  if (value.kind !== "image" || value.value === undefined) return value.value;
  const slash = value.value.lastIndexOf("/");
  return slash < 0 ? value.value : value.value.slice(slash + 1);
}

/** The Git author of a record: the caller's token name, at a address that is never mail. */
export function commitAuthor(name: string): { name: string; email: string } {
  return { name, email: `${name}@gitfleet.invalid` };
}
