// Which labels an agent may ask for: a registration token's preset labels are authoritative,
// and its `allowedLabels` names every other key (and the values) an agent may set.
import { labelKeyProblem, labelValueProblem, type Labels } from "@gitfleet/proto/rules";

/** Any value of the key is allowed. */
export const anyLabelValue = "*";

/**
 * Label keys an agent may set at registration, each with the values it may take;
 * `["*"]` allows any valid value. A key not named here cannot be set by the agent.
 */
export type AllowedLabels = Record<string, string[]>;

const maxAllowedKeys = 64;
const maxAllowedValues = 64;

/**
 * Every problem in an `allowedLabels` map, each naming the key or value (`where` prefixes
 * each message); empty when it is valid. A key may not also be a preset label of the token.
 */
export function allowedLabelsProblems(allowed: Readonly<AllowedLabels>, preset: Readonly<Labels>, where: string): string[] {
  const problems: string[] = [];
  const keys = Object.keys(allowed);
  if (keys.length > maxAllowedKeys) return [`${where}: at most ${maxAllowedKeys} keys are allowed (got ${keys.length})`];
  for (const [key, values] of Object.entries(allowed)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) problems.push(`${where}: key ${JSON.stringify(key)} ${keyProblem}`);
    if (Object.hasOwn(preset, key)) {
      problems.push(`${where}: key ${JSON.stringify(key)} is a preset label of the token; its value is fixed`);
    }
    if (values.length === 0) problems.push(`${where}[${JSON.stringify(key)}]: name at least one value, or "*" for any`);
    if (values.length > maxAllowedValues) problems.push(`${where}[${JSON.stringify(key)}]: at most ${maxAllowedValues} values are allowed`);
    for (const value of values) {
      if (value === anyLabelValue) continue;
      const valueProblem = labelValueProblem(value);
      if (valueProblem !== undefined) problems.push(`${where}[${JSON.stringify(key)}]: value ${JSON.stringify(value)} ${valueProblem}`);
    }
  }
  return problems;
}

/** What a token decides about the labels an agent asks for. */
export interface LabelGrant {
  /** Labels the token sets; the agent cannot change them. */
  preset: Readonly<Labels>;
  /** Other keys the agent may set; absent means none. */
  allowed?: Readonly<AllowedLabels> | undefined;
}

/**
 * Every label an agent asked for that the token does not grant, each naming the label and
 * what the token allows; empty when all are granted. A preset label asked with its own value
 * is granted (the agent repeats what it will get); with another value it is refused.
 */
export function refusedLabels(asked: Readonly<Labels>, grant: LabelGrant): string[] {
  const problems: string[] = [];
  const allowed = grant.allowed ?? {};
  for (const [key, value] of Object.entries(asked)) {
    const label = `${key}=${value}`;
    if (Object.hasOwn(grant.preset, key)) {
      const fixed = grant.preset[key];
      if (fixed !== value) problems.push(`label ${JSON.stringify(label)}: "${key}" is set to ${JSON.stringify(fixed)} by the registration token`);
      continue;
    }
    const values = Object.hasOwn(allowed, key) ? allowed[key] : undefined;
    if (values === undefined) {
      problems.push(`label ${JSON.stringify(label)}: the registration token does not allow the key "${key}"`);
    } else if (!values.includes(anyLabelValue) && !values.includes(value)) {
      problems.push(`label ${JSON.stringify(label)}: the registration token allows "${key}" only as ${values.map((v) => JSON.stringify(v)).join(", ")}`);
    }
  }
  return problems;
}

/**
 * Parses `key=v1|v2,key2=*` (a CLI flag) into allowed labels; values are separated by `|`.
 * Throws nothing: returns the problems, each starting with `where`.
 */
export function parseAllowedLabels(text: string, where: string): { allowed: AllowedLabels; problems: string[] } {
  const allowed: AllowedLabels = {};
  const problems: string[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      problems.push(`${where}: ${JSON.stringify(item)} is not key=value[|value...] (use key=* for any value)`);
      continue;
    }
    const key = item.slice(0, eq).trim();
    if (Object.hasOwn(allowed, key)) problems.push(`${where}: key ${JSON.stringify(key)} is given twice`);
    allowed[key] = item.slice(eq + 1).split("|").map((v) => v.trim());
  }
  return { allowed, problems };
}
