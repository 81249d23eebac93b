// Agents are untrusted: a string they sent is clipped before it reaches the log, so a refused
// request cannot flood the log stream or hide lines in megabytes of text.

/** The longest agent-supplied name logged as is. */
export const maxLoggedName = 64;
/** The longest refusal reason logged as is; reasons quote what the agent sent. */
export const maxLoggedReason = 512;

/** `text` cut to `max` characters, saying how many were left out. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}... (${text.length - max} more characters)`;
}
