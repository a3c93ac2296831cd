// slices.js – long work on many items split into short slices, so that the page stays responsive (no long tasks) while it runs.

// A task over 50 ms is a long task. Slices are timed where they run, but Lighthouse's phone
// simulation multiplies what it timed on a fast machine by four: at 10 ms a slice stays under
// 50 ms there too (at 30 ms, it became a long task of 120 ms).
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
