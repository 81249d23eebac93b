// Data that loads from the API and loads again when the fleet's events say it changed.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { FleetEvent } from "./api.js";
import { onEvent } from "./events.js";

/** What {@link useLive} holds. */
export interface Live<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` now, whenever `deps` change, and again (at most every `minIntervalMs`) after an
 * event that `relevant` accepts; also every `pollMs` as a backstop for changes no event names
 * (a cluster registering, a promotion moving).
 */
export function useLive<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  options: { relevant?: (event: FleetEvent) => boolean; minIntervalMs?: number; pollMs?: number } = {},
): Live<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    last.current = Date.now();
    load(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [...deps, tick]);

  useEffect(() => {
    const minInterval = options.minIntervalMs ?? 500;
    const off = onEvent((event) => {
      if (options.relevant && !options.relevant(event)) return;
      if (timer.current !== undefined) return;
      const wait = Math.max(0, last.current + minInterval - Date.now());
      timer.current = setTimeout(() => {
        timer.current = undefined;
        reload();
      }, wait);
    });
    const poll = options.pollMs === undefined ? undefined : setInterval(reload, options.pollMs);
    return () => {
      off();
      if (poll !== undefined) clearInterval(poll);
      if (timer.current !== undefined) clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [reload]);

  return { data, error, loading, reload };
}
