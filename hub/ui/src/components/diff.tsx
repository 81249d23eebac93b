// A unified diff, lines marked by sign and colour.
export function UnifiedDiff(props: { file: string; diff: string }) {
  return (
    <figure class="diff">
      <figcaption>{props.file}</figcaption>
      <pre>
        {props.diff.split("\n").map((line, i) => (
          <span key={i} class={line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : ""}>
            {line}
            {"\n"}
          </span>
        ))}
      </pre>
    </figure>
  );
}

/** A JSON-encoded value as the drift API gives it, shown readably; "(absent)" when empty. */
export function JsonValue(props: { value: string; redacted?: boolean | undefined }) {
  if (props.redacted) return <em>(withheld)</em>;
  if (props.value === "") return <em>(absent)</em>;
  return <code>{props.value}</code>;
}
