// Why promotion edits could not be computed or applied: the repository is not in a state the
// edits can work on (a value missing in the source stage, a file that is not a single YAML
// document). The message names the file and the field.
import { HubError } from "../../errors.js";

/** What made an edit impossible. */
export type EditErrorReason = "source-missing" | "target-missing" | "invalid-yaml" | "multi-document" | "not-editable";

/** An edit that cannot be made; `code` is failed-precondition, `reason` says why. */
export class EditError extends HubError {
  readonly reason: EditErrorReason;
  /** Repository-relative file the problem is in. */
  readonly file: string;

  constructor(reason: EditErrorReason, file: string, message: string, options?: { cause?: unknown }) {
    super("failed-precondition", message, options);
    this.name = "EditError";
    this.reason = reason;
    this.file = file;
  }
}
