// The values a promotion moves and the edits it makes, as plain JSON-serialisable data: they are
// shown in dry runs and stored in promotion records, then applied again (or reversed) later.
import type { PathSegment } from "../../delivery/index.js";

/** A YAML scalar as an edit reads and writes it; `undefined` stands for an absent key. */
export type EditValue = string | number | boolean | null;

/** One promoted value of a stage, for display and for the pipeline view. */
export interface PromotedValue {
  readonly kind: "image" | "field" | "file";
  /** Repository-relative file the value is in. */
  readonly file: string;
  /** Image name, field path, or "" for a whole file. */
  readonly key: string;
  /**
   * The value: for an image the reference it resolves to (`registry.example.com/web:1.4.2`,
   * `...@sha256:...`), for a field its scalar as text, for a file the sha256 of its content;
   * undefined when the stage has none.
   */
  readonly value: string | undefined;
}

/** One structured edit of one file: a scalar at a path, or a whole file. */
export type Edit =
  | {
      readonly kind: "value";
      readonly file: string;
      readonly path: readonly PathSegment[];
      /** The path for people: `images[registry.example.com/web].newTag`, `data.version`. */
      readonly display: string;
      readonly before: EditValue | undefined;
      readonly after: EditValue | undefined;
    }
  | {
      readonly kind: "file";
      readonly file: string;
      /** Whole content before; undefined when the file did not exist. */
      readonly before: string | undefined;
      /** Whole content after; undefined deletes the file. */
      readonly after: string | undefined;
    };

/** An edit whose file holds neither the value it expects nor the one it would write. */
export interface EditConflict {
  readonly file: string;
  readonly display: string;
  readonly expected: EditValue | string | undefined;
  readonly found: EditValue | string | undefined;
  readonly message: string;
}

/** What {@link applyEdits} gives back. */
export interface AppliedEdits {
  /** New content of each file that changed; null deletes it. */
  readonly changed: ReadonlyMap<string, string | null>;
  readonly conflicts: readonly EditConflict[];
  /** True when every edit was already at its target value (nothing to do). */
  readonly alreadyApplied: boolean;
}
