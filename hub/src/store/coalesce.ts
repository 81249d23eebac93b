// Coalescing of work that a burst of changes asks for again and again (a registration storm
// asking delivery to re-resolve the fleet once per new cluster): the work runs once for every
// change seen before it started, never twice at once, and leaves the event loop room between
// runs, so its cost no longer grows with the number of changes times the fleet.

/** Options of {@link createCoalescedTask}. */
export interface CoalescedTaskOptions {
  /** The work; one run covers every request made before it started. */
  run: () => Promise<void> | void;
  /** Told when a run fails; later requests still run. */
  onError: (err: unknown) => void;
  /** Wait after the first request of a burst before running, to gather it; default 0 (the next turn of the event loop). */
  delayMs?: number;
  /**
   * Longest pause between two runs back to back. The pause is as long as the last run took, up to
   * this, so the work takes at most about half of the event loop while requests keep coming;
   * default 1,000 ms.
   */
  maxGapMs?: number;
}

/** Work run at most once at a time, once per burst of requests. */
export interface CoalescedTask {
  /** Asks for a run; resolves once a run that started after this request has finished. */
  request(): Promise<void>;
  /** Runs started so far (for tests and metrics). */
  readonly runs: number;
  /** Drops what is waiting and waits for a run under way; later requests are ignored. */
  stop(): Promise<void>;
}

/** Creates a {@link CoalescedTask}. */
export function createCoalescedTask(options: CoalescedTaskOptions): CoalescedTask {
  const delayMs = options.delayMs ?? 0;
  const maxGapMs = options.maxGapMs ?? 1_000;
  let runs = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastRunMs = 0;
  // Requests not yet covered by a started run, and who waits for them.
  let waiting: Array<() => void> = [];

  const schedule = (wait: number): void => {
    if (stopped || timer !== undefined || running !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void runNow();
    }, wait);
  };

  const runNow = async (): Promise<void> => {
    if (stopped) return;
    const covered = waiting;
    waiting = [];
    runs++;
    const started = performance.now();
    running = (async () => {
      try {
        await options.run();
      } catch (err) {
        options.onError(err);
      }
    })();
    await running;
    lastRunMs = performance.now() - started;
    running = undefined;
    for (const done of covered) done();
    if (waiting.length > 0) schedule(Math.min(maxGapMs, Math.max(delayMs, lastRunMs)));
  };

  return {
    request() {
      if (stopped) return Promise.resolve();
      const done = new Promise<void>((resolve) => waiting.push(resolve));
      schedule(delayMs);
      return done;
    },
    get runs() {
      return runs;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      const dropped = waiting;
      waiting = [];
      for (const done of dropped) done();
      await running;
    },
  };
}
