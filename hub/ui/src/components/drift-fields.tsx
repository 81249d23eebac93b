// Drifted fields of one object: the value in Git against the value in the cluster, and the field
// manager that changed it. Used by the cluster page and the drift page.
import type { DriftField } from "../api.js";
import { JsonValue } from "./diff.js";

/** A table of drifted fields; `omitted` counts fields the agent left out of its report. */
export function DriftFieldsTable(props: { fields: readonly DriftField[]; omitted?: number; caption?: string }) {
  if (props.fields.length === 0) return null;
  const omitted = props.omitted ?? 0;
  return (
    <table class="fields">
      {props.caption !== undefined && <caption class="sr-only">{props.caption}</caption>}
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Desired (Git)</th>
          <th scope="col">Live (cluster)</th>
          <th scope="col">Changed by</th>
        </tr>
      </thead>
      <tbody>
        {props.fields.map((f) => (
          <tr key={f.path}>
            <td>
              <code>{f.path}</code>
            </td>
            <td class="desired">
              <JsonValue value={f.desired} redacted={f.redacted} />
            </td>
            <td class="live">
              <JsonValue value={f.live} redacted={f.redacted} />
            </td>
            <td>{f.manager || "—"}</td>
          </tr>
        ))}
        {omitted > 0 && (
          <tr>
            <td colSpan={4}>…and {omitted} more fields the agent left out</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
