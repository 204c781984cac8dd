/**
 * Scaling: getTransaction, getOwnedIds and getSpent latency with 10k, 100k and 1M stored
 * transactions. Every owner key has a few records of its own, so each lookup returns the
 * same amount at every size: what grows is only what the index has to search. A 1M/10k
 * ratio near 1 means the lookups are index seeks; a full scan would show ~100.
 */
import { query } from '../../lib';
import { type EngineName, openLayer } from '../support/engines';
import { latencies, median, percentile, round } from '../support/measure';
import type { Row, Section, Target } from '../support/report';
import { hexId, keyOf, transactions } from '../support/workload';

const SEED = 'bench/scaling';
const LOOKUPS = 2_000;
const CHUNK = 50_000;

const LOOKUP_NAMES = ['getTransaction', 'getOwnedIds', 'getSpent'] as const;
type Lookup = (typeof LOOKUP_NAMES)[number];

export async function scalingSection(engines: readonly EngineName[], quick: boolean): Promise<Section> {
  const sizes = quick ? [1_000, 10_000] : [10_000, 100_000, 1_000_000];
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const engine of engines) {
    const { conn, close } = await openLayer(engine);
    const p50: Record<Lookup, number[]> = { getTransaction: [], getOwnedIds: [], getSpent: [] };
    try {
      let stored = 0;
      for (const size of sizes) {
        for (; stored < size; stored += CHUNK) {
          await query.writeTransactions(conn, transactions(SEED, Math.min(CHUNK, size - stored), stored, 'unique'));
        }
        // Spread over the whole ledger, the same pseudo-random walk for every size and lookup;
        // even numbers are CREATEs: their output is spent by the next transaction.
        const creates = Array.from({ length: LOOKUPS }, (_, i) => (((i * 104_729) % (size / 2)) | 0) * 2);
        const calls: Record<Lookup, (i: number) => Promise<unknown>> = {
          getTransaction: (i) => query.getTransaction(conn, hexId(`${SEED}/${creates[i] + 1}`)),
          getOwnedIds: (i) => query.getOwnedIds(conn, keyOf(creates[i])),
          getSpent: (i) => query.getSpent(conn, hexId(`${SEED}/${creates[i]}`), 0),
        };
        for (const name of LOOKUP_NAMES) {
          await latencies(200, calls[name]); // warm-up
          const samples = await latencies(LOOKUPS, calls[name]);
          p50[name].push(median(samples));
          rows.push({
            engine,
            lookup: name,
            stored: size.toLocaleString('en'),
            'p50 (µs)': round(median(samples) / 1000),
            'p99 (µs)': round(percentile(samples, 99) / 1000),
          });
        }
      }
    } finally {
      await close();
    }
    for (const name of LOOKUP_NAMES) {
      const series = p50[name];
      const ratio = round(series[series.length - 1] / series[0], 2);
      targets.push({ name: `${name} on ${engine}, p50 at ${sizes[sizes.length - 1].toLocaleString('en')} / at ${sizes[0].toLocaleString('en')}`, value: ratio, kind: 'max', bound: 2 });
    }
  }
  return {
    id: 'scaling',
    title: 'Scaling of indexed lookups',
    method: `One database per engine grown to each size with writeTransactions; at each size ${LOOKUPS.toLocaleString('en')} lookups of keys spread over the whole ledger after 200 warm-up calls. Each key has the same few records at every size.`,
    columns: ['engine', 'lookup', 'stored', 'p50 (µs)', 'p99 (µs)'],
    rows,
    targets,
    notes: [],
  };
}
