/**
 * Timing helpers: a monotonic clock in nanoseconds, percentiles, and best-of-rounds loops.
 * Benchmarks report ratios against a baseline measured in the same run, so a busy or slow
 * machine moves both sides together.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Nanoseconds from a monotonic clock. */
export const now = (): number => Number(process.hrtime.bigint());

/** The `p`-th percentile (0..100) of `samples` (nearest rank). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** The median of `samples`. */
export const median = (samples: readonly number[]): number => percentile(samples, 50);

/** Runs `round` `rounds` times and returns the smallest result (the least disturbed run). */
export async function bestOf(rounds: number, round: () => number | Promise<number>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i += 1) best = Math.min(best, await round());
  return best;
}

/** Milliseconds `work` takes. */
export async function timeMs(work: () => unknown): Promise<number> {
  const start = now();
  await work();
  return (now() - start) / 1e6;
}

/** Latencies (ns) of `count` calls of `call(i)`, one after the other. */
export async function latencies(count: number, call: (i: number) => unknown): Promise<number[]> {
  const samples: number[] = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const start = now();
    await call(i);
    samples[i] = now() - start;
  }
  return samples;
}

/** `value` rounded to `digits` significant digits, for tables. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/**
 * Lets the work done before a measurement finish before it starts: a full garbage collection
 * (the heap a large fill leaves behind would otherwise be collected, on both cores, during
 * the measurement), then a pause for the kernel to write back what the fill dirtied.
 */
export async function settle(pauseMs = 1_000): Promise<void> {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
}
