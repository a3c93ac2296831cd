// slices.js – long work on many items split into short slices, so that the page stays responsive (no long tasks) while it runs.

// A task over 50 ms is a long task. A phone's CPU is several times slower than the machine a
// slice is timed on when the page is built or measured (Lighthouse's phone simulation multiplies
// the time it saw by four), so a slice stays well under a quarter of that.
const SLICE_MS = 10;

/** Gives the main thread back (input, paint) before the next slice. */
export function yieldToMain() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Resolves once the browser has painted the next frame (a task after the frame's callback). */
export function afterNextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/**
 * Calls `each(item)` for every item, yielding to the main thread whenever a slice has taken
 * SLICE_MS; stops early (resolving false) once `stale()` says the work is no longer wanted.
 */
export async function inSlices(items, each, stale = () => false) {
  let started = performance.now();
  for (const item of items) {
    if (performance.now() - started > SLICE_MS) {
      await yieldToMain();
      if (stale()) return false;
      started = performance.now();
    }
    each(item);
  }
  return true;
}
