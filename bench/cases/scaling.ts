/**
 * Scaling: getTransaction, getOwnedIds and getSpent latency with 10k, 100k and 1M stored
 * transactions. Every owner key has a few records of its own, so each lookup returns the
 * same amount at every size: what grows is only what the index has to search. A 1M/10k
 * ratio near 1 means the lookups are index seeks; a full scan would show ~100.
 */
import type { SqliteConnection } from '../../backends/sqlite';
import { query } from '../../lib';
import { type EngineName, openLayer } from '../support/engines';
import { latencies, median, percentile, round, settle } from '../support/measure';
import type { Row, Section, Target } from '../support/report';
import { hexId, keyOf, transactions } from '../support/workload';

const SEED = 'bench/scaling';
const LOOKUPS = 2_000;
/** Warm-up calls, on keys of their own: the measured keys are as cold at every size. */
const WARMUP = 2_000;
const CHUNK = 50_000;

/** Transaction numbers of `count` CREATEs spread over `size` stored transactions (a pseudo-random walk from `offset`). */
/** A lookup's answer, which must not be empty: a miss would be measured as a (fast) answer. */
function found<T>(answer: T): T {
  if (answer === null || (Array.isArray(answer) && answer.length === 0)) throw new Error('bench/scaling: a lookup found nothing; the database is not what it should be');
  return answer;
}

const walk = (count: number, size: number, offset: number) =>
  Array.from({ length: count }, (_, i) => (((i * 104_729 + offset) % (size / 2)) | 0) * 2);

const LOOKUP_NAMES = ['getTransaction', 'getOwnedIds', 'getSpent'] as const;
type Lookup = (typeof LOOKUP_NAMES)[number];

export async function scalingSection(engines: readonly EngineName[], quick: boolean): Promise<Section> {
  const sizes = quick ? [1_000, 10_000] : [10_000, 100_000, 1_000_000];
  const rows: Row[] = [];
  const targets: Target[] = [];
  const notes: string[] = [];
  for (const engine of engines) {
    const { conn, close } = await openLayer(engine);
    const p50: Record<Lookup, number[]> = { getTransaction: [], getOwnedIds: [], getSpent: [] };
    const rawP50: number[] = [];
    try {
      let stored = 0;
      for (const size of sizes) {
        while (stored < size) {
          const count = Math.min(CHUNK, size - stored);
          await query.writeTransactions(conn, transactions(SEED, count, stored, 'unique'));
          stored += count;
        }
        // The fill's WAL copied into the file, and its garbage and dirty pages out of the way.
        if (engine === 'sqlite') (conn as SqliteConnection).db.pragma('wal_checkpoint(TRUNCATE)');
        await settle();
        // Spread over the whole ledger, the same pseudo-random walk for every size and lookup;
        // even numbers are CREATEs: their output is spent by the next transaction. Keys are
        // computed before timing.
        const keysOf = (creates: number[]) => ({
          transfer: creates.map((n) => hexId(`${SEED}/${n + 1}`)),
          create: creates.map((n) => hexId(`${SEED}/${n}`)),
          owner: creates.map((n) => keyOf(n)),
        });
        const calls = (keys: ReturnType<typeof keysOf>): Record<Lookup, (i: number) => Promise<unknown>> => ({
          getTransaction: (i) => query.getTransaction(conn, keys.transfer[i]).then(found),
          getOwnedIds: (i) => query.getOwnedIds(conn, keys.owner[i]).then(found),
          getSpent: (i) => query.getSpent(conn, keys.create[i], 0).then(found),
        });
        // Each lookup (and the reference) has keys of its own, so none reads pages another warmed.
        const measured = (index: number) => keysOf(walk(LOOKUPS, size, 1 + 2 * index));
        const warmKeys = keysOf(walk(WARMUP, size, 7_919));
        const warm = calls(warmKeys);
        if (engine === 'sqlite') {
          // The engine's own cost of the same lookup, for reference: one prepared statement.
          const select = (conn as SqliteConnection).db.prepare('SELECT body FROM transactions WHERE id = ?').pluck();
          const raw = (key: string) => JSON.parse(select.get(key) as string);
          await latencies(WARMUP, (i) => raw(warmKeys.transfer[i]));
          const keys = measured(LOOKUP_NAMES.length).transfer;
          const samples = await latencies(LOOKUPS, (i) => raw(keys[i]));
          rawP50.push(median(samples));
          rows.push({ engine, lookup: 'raw SELECT (reference)', stored: size.toLocaleString('en'), 'p50 (µs)': round(median(samples) / 1000), 'p99 (µs)': round(percentile(samples, 99) / 1000) });
        }
        for (const [index, name] of LOOKUP_NAMES.entries()) {
          await latencies(WARMUP, warm[name]);
          const samples = await latencies(LOOKUPS, calls(measured(index))[name]);
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
    if (rawP50.length) {
      const layer = p50.getTransaction;
      notes.push(
        `SQLite getTransaction, p50 at ${sizes[sizes.length - 1].toLocaleString('en')} / at ${sizes[0].toLocaleString('en')}: ${round(layer[layer.length - 1] / layer[0], 2)} through the layer, ` +
          `${round(rawP50[rawP50.length - 1] / rawP50[0], 2)} for the engine's own prepared SELECT on the same file (the reference rows). ` +
          "What grows is the cost of pages that are not in SQLite's page cache (64 MiB; the 1M file is about 1.7 GB). The lookups are index seeks (a scan of the 1M rows took 0.5-0.85 s here).",
        'Two changes took these ratios from 1.6-3.0 (getTransaction) and 1.7-3.6 (getSpent) in earlier runs to 1.3-1.7 (two runs on 2026-11-22). The file is read through a memory map (SQLite option mmapSize, default 2048 MiB), so a cold page costs a page-table lookup instead of a system call and a copy into the page cache: in this harness on 2026-11-22, without it and with it, 2.2 / 1.6 / 2.0 and 1.4 / 1.3 / 1.4 (getTransaction / getOwnedIds / getSpent), getTransaction p99 at 1M 42 µs and 14 µs. And outputs and spends keep the transaction\'s row number, so getSpent and getOwnedIds reach the row without searching the id index, one page fewer per result (the engine\'s own getSpent statement at 1M, fresh process: 16-23 µs by id, 12-15 µs by row number).',
        'Before each size is measured, the WAL is checkpointed and the process settles (a full garbage collection, then a 1 s pause). Measured straight after the 1M fill, with its garbage collection and write-back still running (and before the memory map), one run gave getTransaction 28.7 µs at 1M (5.5x) and the next 12.1 µs.',
        'In a fresh process opening an existing 1M file the first touch of each page costs more: a page fault to map it, about 3.4 µs on this machine (a read through a system call costs as much). Measured that way on 2026-11-22 with the same keys and 2,000 warm-up calls, getTransaction took 13.5 µs at 1M and 6.0 µs at 10k (2.25x), getSpent 16.2 / 8.2 (2.0x), getOwnedIds 22.8 / 13.8 (1.65x); the engine\'s own SELECT by id 12.7 / 5.2 µs, and 8.0 µs at 1M after 20,000 warm-up calls (1.5x). The ratios in the table are for the process that wrote the ledger; a process that opens an existing large file pays these faults until the pages it reads are mapped.',
      );
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
    method: `One database per engine grown to each size with writeTransactions; at each size ${LOOKUPS.toLocaleString('en')} lookups of keys spread over the whole ledger after ${WARMUP.toLocaleString('en')} warm-up calls on other keys (so measured keys are as cold at every size), keys computed before timing. Each key has the same few records at every size.`,
    columns: ['engine', 'lookup', 'stored', 'p50 (µs)', 'p99 (µs)'],
    rows,
    targets,
    notes,
  };
}
