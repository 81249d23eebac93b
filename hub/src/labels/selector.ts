// Kubernetes label selector syntax (`a=b,c!=d,e in (x,y),!f,g`), parsed once and
// matched against cluster labels with kubectl's semantics.
import { HubError } from "../errors.js";
import { labelKeyProblem, labelValueProblem } from "@gitfleet/proto/rules";

/** One requirement of a selector; a selector matches when all of them do. */
export type Requirement =
  | { key: string; op: "exists" | "not-exists" }
  | { key: string; op: "equals" | "not-equals"; value: string }
  | { key: string; op: "in" | "not-in"; values: readonly string[] };

/** A parsed label selector; an empty one matches every cluster. */
export interface Selector {
  readonly requirements: readonly Requirement[];
  /** The text it was parsed from, for messages. */
  readonly source: string;
}

type Token =
  | { kind: "word"; text: string; at: number }
  | { kind: "(" | ")" | "," | "=" | "==" | "!=" | "!" | "end"; at: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] ?? "";
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "(" || ch === ")" || ch === ",") {
      tokens.push({ kind: ch, at: i });
      i++;
    } else if (ch === "=") {
      const double = source[i + 1] === "=";
      tokens.push({ kind: double ? "==" : "=", at: i });
      i += double ? 2 : 1;
    } else if (ch === "!") {
      const notEquals = source[i + 1] === "=";
      tokens.push({ kind: notEquals ? "!=" : "!", at: i });
      i += notEquals ? 2 : 1;
    } else {
      const start = i;
      while (i < source.length && !/[\s(),=!]/.test(source[i] ?? "")) i++;
      tokens.push({ kind: "word", text: source.slice(start, i), at: start });
    }
  }
  tokens.push({ kind: "end", at: source.length });
  return tokens;
}

class Parser {
  private index = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    if (this.peek().kind === "end") return requirements;
    for (;;) {
      requirements.push(this.requirement());
      const next = this.take();
      if (next.kind === "end") return requirements;
      if (next.kind !== ",") this.fail(next, "expected ',' between requirements");
    }
  }

  private requirement(): Requirement {
    if (this.peek().kind === "!") {
      this.take();
      return { key: this.key(), op: "not-exists" };
    }
    const key = this.key();
    const next = this.peek();
    if (next.kind === "," || next.kind === "end") return { key, op: "exists" };
    this.take();
    if (next.kind === "=" || next.kind === "==") return { key, op: "equals", value: this.value() };
    if (next.kind === "!=") return { key, op: "not-equals", value: this.value() };
    if (next.kind === "word" && (next.text === "in" || next.text === "notin")) {
      return { key, op: next.text === "in" ? "in" : "not-in", values: this.valueSet() };
    }
    return this.fail(next, "expected one of '=', '==', '!=', 'in', 'notin', ',' after a key");
  }

  private key(): string {
    const token = this.take();
    if (token.kind !== "word") return this.fail(token, "expected a label key");
    const problem = labelKeyProblem(token.text);
    if (problem !== undefined) this.fail(token, `label key ${JSON.stringify(token.text)} ${problem}`);
    return token.text;
  }

  private value(): string {
    // An empty value (`a=`) is valid and means "label present with an empty value".
    const next = this.peek();
    if (next.kind === "," || next.kind === "end" || next.kind === ")") return "";
    const token = this.take();
    if (token.kind !== "word") return this.fail(token, "expected a label value");
    const problem = labelValueProblem(token.text);
    if (problem !== undefined) this.fail(token, `label value ${JSON.stringify(token.text)} ${problem}`);
    return token.text;
  }

  private valueSet(): string[] {
    const open = this.take();
    if (open.kind !== "(") this.fail(open, "expected '(' to open the set of values");
    const values: string[] = [];
    for (;;) {
      values.push(this.value());
      const next = this.take();
      if (next.kind === ")") break;
      if (next.kind !== ",") this.fail(next, "expected ',' or ')' in the set of values");
    }
    if (values.length === 1 && values[0] === "") this.fail(open, "the set of values must not be empty");
    return values;
  }

  private peek(): Token {
    return this.tokens[this.index] ?? { kind: "end", at: this.source.length };
  }

  private take(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.index++;
    return token;
  }

  private fail(token: Token, message: string): never {
    throw new HubError(
      "invalid-argument",
      `selector ${JSON.stringify(this.source)}: ${message} at position ${token.at + 1}`,
    );
  }
}

/**
 * Parses a Kubernetes label selector. Throws a HubError (`invalid-argument`)
 * that quotes the selector and says where it went wrong.
 */
export function parseSelector(source: string): Selector {
  const requirements = new Parser(source, tokenize(source)).parse();
  return { requirements, source };
}

/** True when `labels` satisfy every requirement of `selector`. */
export function matchesSelector(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((r) => matchesRequirement(r, labels));
}

function matchesRequirement(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case "exists":
      return has;
    case "not-exists":
      return !has;
    case "equals":
      return has && value === r.value;
    case "not-equals":
      // As in Kubernetes: a cluster without the label matches `key!=value`.
      return !has || value !== r.value;
    case "in":
      return has && value !== undefined && r.values.includes(value);
    case "not-in":
      return !has || value === undefined || !r.values.includes(value);
  }
}
