// A windowed list: only the rows in view (and a few around) are in the DOM, so 10,000 rows
// scroll as fast as 30. Rows have one fixed height.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

/** Props of {@link VirtualRows}. */
export interface VirtualRowsProps<T> {
  items: readonly T[];
  rowHeight: number;
  /** Height of the scrolling area in pixels. */
  height: number;
  /** Rows drawn above and below the visible ones. */
  overscan?: number;
  label: string;
  header?: ComponentChildren;
  row: (item: T, index: number) => ComponentChildren;
}

/** Draws the visible rows of `items` inside a scrolling region. */
export function VirtualRows<T>(props: VirtualRowsProps<T>) {
  const { items, rowHeight, height } = props;
  const overscan = props.overscan ?? 8;
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    let frame = 0;
    const onScroll = (): void => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setTop(el.scrollTop);
      });
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      el.removeEventListener("scroll", onScroll);
      cancelAnimationFrame(frame);
    };
  }, []);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + overscan);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    const item = items[i];
    if (item === undefined) continue;
    rows.push(
      <div role="row" aria-rowindex={i + 2} class="vrow" key={i} style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {props.row(item, i)}
      </div>,
    );
  }
  return (
    <div role="grid" aria-label={props.label} aria-rowcount={items.length + 1} class="vgrid">
      {props.header}
      <div ref={scroller} class="vscroll" style={{ height: `${height}px` }} tabIndex={0}>
        <div role="rowgroup" style={{ height: `${items.length * rowHeight}px`, position: "relative" }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
