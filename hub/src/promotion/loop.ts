// A background loop with an owner: one pass at a time, every interval, until stopped.
import type { Logger } from "pino";

/** A running loop. */
export interface BackgroundLoop {
  /** Runs a pass soon (e.g. after a commit) instead of waiting for the interval. */
  kick(): void;
  /** Stops the loop; resolves once the pass under way, if any, has ended. */
  stop(): Promise<void>;
}

/** Starts `pass` every `intervalMs` (and on kick); a failing pass is logged and the loop goes on. */
export function startLoop(options: { name: string; intervalMs: number; pass: () => Promise<void>; logger: Logger }): BackgroundLoop {
  const { intervalMs, pass, logger } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  const schedule = (delay: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  };
  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((err: unknown) => logger.warn({ err, loop: options.name }, "background pass failed; trying again at the next interval"))
      .finally(() => {
        running = undefined;
        schedule(again ? 0 : intervalMs);
        again = false;
      });
  };
  schedule(0);
  return {
    kick: () => schedule(0),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
