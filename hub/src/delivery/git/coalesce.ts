// Runs an async task at most once at a time and folds requests that arrive while it runs into
// one follow-up run: a caller always gets a run that started after it asked, so a webhook that
// arrives during a fetch is never answered with a fetch that may have missed its push.

/** A task runner that coalesces concurrent requests; see {@link createCoalescer}. */
export interface Coalescer<T> {
  /** Runs the task, or joins the next run if one is already going. */
  run(): Promise<T>;
  /** Resolves once no run is going or queued (never rejects). */
  idle(): Promise<void>;
}

/** Wraps `task` so that it never runs concurrently with itself; see {@link Coalescer}. */
export function createCoalescer<T>(task: () => Promise<T>): Coalescer<T> {
  let running: Promise<T> | undefined;
  let queued: Promise<T> | undefined;

  const start = (): Promise<T> => {
    const current = (async () => task())();
    running = current;
    const clear = (): void => {
      if (running === current) running = undefined;
    };
    void current.then(clear, clear);
    return current;
  };

  return {
    run() {
      if (running === undefined && queued === undefined) return start();
      queued ??= Promise.allSettled([running]).then(() => {
        queued = undefined;
        return start();
      });
      return queued;
    },
    async idle() {
      while (running !== undefined || queued !== undefined) {
        await Promise.allSettled([running, queued]);
      }
    },
  };
}
