/** A column of a table for people: a header and how to read the cell from a row. */
export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

/** Renders rows as an aligned plain-text table, kubectl style. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n");
}

/** "3m ago" style age of an ISO time, or "-" when absent. */
export function age(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return "-";
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return "-";
  const abs = Math.abs(seconds);
  const text =
    abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : abs < 86400 ? `${Math.floor(abs / 3600)}h` : `${Math.floor(abs / 86400)}d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** k=v,k2=v2 for a label map, or "-" when empty. */
export function labelsText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(",") : "-";
}
