// A bounded pool of strings, so the thousands of copies of a bundle name, kind or revision
// that decoding statuses produces share one string in the drift index.

/** Returns one shared instance of each string it is given. */
export type Interner = (text: string) => string;

/**
 * Creates an interner. The pool is emptied when it holds `maxSize` strings: strings already
 * shared stay shared, and memory stays bounded when old revisions stop being used.
 */
export function createInterner(maxSize = 65_536): Interner {
  let pool = new Map<string, string>();
  return (text) => {
    const known = pool.get(text);
    if (known !== undefined) return known;
    if (pool.size >= maxSize) pool = new Map();
    pool.set(text, text);
    return text;
  };
}
