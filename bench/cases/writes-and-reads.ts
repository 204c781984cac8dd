/**
 * Bulk writes and point reads, the layer against the hand-written baseline on the same
 * engine: writeTransactions of 20,000 and 100,000 transactions into an empty database
 * (tx/s, best of a few rounds, each on a fresh database), then getTransaction p50/p99 on
 * the 20,000-transaction databases.
 */
import type { SqliteConnection } from '../../backends/sqlite';
import { type Connection, type Transaction, query } from '../../lib';
import { type EngineName, openBaseline, openLayer } from '../support/engines';
import { latencies, median, percentile, round, timeMs } from '../support/measure';
import type { Row, Section, Target } from '../support/report';
import { transactions } from '../support/workload';

const READS = 10_000;

type Side = 'layer' | 'layer without change log' | 'hand-written';

/**
 * Drops the change-log triggers of a SQLite database: what the layer costs without the
 * changefeed's log, to show in the table what the log costs (never done outside bench/).
 */
function dropChangeLog(conn: Connection): void {
  const db = (conn as SqliteConnection).db;
  const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%\\_log\\_%' ESCAPE '\\'").pluck().all() as string[];
  for (const name of triggers) db.exec(`DROP TRIGGER ${name}`);
  (conn as SqliteConnection).forgetStatements();
}

/** Best tx/s of `rounds` fresh writes of `txs`, through the layer or the baseline. */
async function writeRate(engine: EngineName, side: Side, txs: readonly Transaction[], rounds: number): Promise<number> {
  let best = 0;
  for (let r = 0; r < rounds; r += 1) {
    if (side !== 'hand-written') {
      const { conn, close } = await openLayer(engine);
      if (side === 'layer without change log') dropChangeLog(conn);
      const ms = await timeMs(() => query.writeTransactions(conn, txs as Transaction[]));
      await close();
      best = Math.max(best, txs.length / (ms / 1000));
    } else {
      const base = await openBaseline(engine);
      const ms = await timeMs(() => base.writeTransactions(txs));
      await base.close();
      best = Math.max(best, txs.length / (ms / 1000));
    }
  }
  return best;
}

/** getTransaction latencies (ns), p50 and p99, on `count` stored transactions. */
async function readLatency(engine: EngineName, txs: readonly Transaction[]): Promise<{ layer: number[]; hand: number[] }> {
  const layer = await openLayer(engine);
  const base = await openBaseline(engine);
  try {
    await query.writeTransactions(layer.conn, txs as Transaction[]);
    await base.writeTransactions(txs);
    // A fixed pseudo-random order of existing ids, the same for both sides.
    const ids = Array.from({ length: READS }, (_, i) => txs[(i * 7919) % txs.length].id);
    const result = { layer: [] as number[], hand: [] as number[] };
    // Alternate halves so that machine noise falls on both sides alike; the first pass warms up.
    for (let pass = 0; pass < 3; pass += 1) {
      const l = await latencies(READS / 2, (i) => query.getTransaction(layer.conn, ids[i]));
      const h = await latencies(READS / 2, (i) => base.getTransaction(ids[i]));
      if (pass > 0) {
        result.layer.push(...l);
        result.hand.push(...h);
      }
    }
    return result;
  } finally {
    await layer.close();
    await base.close();
  }
}

export async function writesAndReadsSections(engines: readonly EngineName[], quick: boolean): Promise<Section[]> {
  const sizes = quick ? [2_000, 10_000] : [20_000, 100_000];
  const writeRows: Row[] = [];
  const readRows: Row[] = [];
  const targets: Target[] = [];
  const readTargets: Target[] = [];
  for (const engine of engines) {
    for (const size of sizes) {
      const txs = transactions(`bench/bulk/${size}`, size);
      const rounds = size > 50_000 ? 2 : 3;
      const hand = await writeRate(engine, 'hand-written', txs, rounds);
      const layer = await writeRate(engine, 'layer', txs, rounds);
      const ratio = round(layer / hand, 2);
      writeRows.push({ engine, transactions: size.toLocaleString('en'), 'layer tx/s': Math.round(layer), 'hand-written tx/s': Math.round(hand), ratio });
      if (engine === 'sqlite') {
        // Where the time goes: the same layer with its change-log triggers dropped.
        const unlogged = await writeRate(engine, 'layer without change log', txs, rounds);
        writeRows.push({ engine: 'sqlite, change log dropped (diagnostic)', transactions: size.toLocaleString('en'), 'layer tx/s': Math.round(unlogged), 'hand-written tx/s': Math.round(hand), ratio: round(unlogged / hand, 2) });
      }
      targets.push({ name: `bulk write ${size.toLocaleString('en')} on ${engine} (layer / hand-written)`, value: ratio, kind: 'min', bound: 0.8 });
    }
    const reads = await readLatency(engine, transactions(`bench/bulk/${sizes[0]}`, sizes[0]));
    const us = (ns: number) => round(ns / 1000);
    const ratio = round(median(reads.hand) / median(reads.layer), 2);
    readRows.push({
      engine,
      'layer p50 (µs)': us(median(reads.layer)),
      'layer p99 (µs)': us(percentile(reads.layer, 99)),
      'hand-written p50 (µs)': us(median(reads.hand)),
      'hand-written p99 (µs)': us(percentile(reads.hand, 99)),
      'speed ratio (p50)': ratio,
    });
    readTargets.push({ name: `point read p50 on ${engine} (hand-written time / layer time)`, value: ratio, kind: 'min', bound: 0.8 });
  }
  return [
    {
      id: 'bulk-writes',
      title: 'Bulk writes',
      method:
        'query.writeTransactions of N transactions (half CREATE with asset data and metadata, half TRANSFER) into an empty database, against the hand-written baseline (bench/handwritten/) on the same engine; best of 2-3 rounds, each on a fresh database. The ratio is layer tx/s over hand-written tx/s.',
      columns: ['engine', 'transactions', 'layer tx/s', 'hand-written tx/s', 'ratio'],
      rows: writeRows,
      targets,
      notes: [
        'The layer does more than the baseline for the same call: it validates every record against the JSON Schema, reports duplicates exactly, and writes the change log that changefeeds read (the baseline has no feed).',
        'SQLite misses the 0.8 target because of the change log, as the diagnostic row shows (the same layer with its change-log triggers dropped): a trigger writes one log row per stored record, and the transaction row is copied whole, so the log doubles what a bulk write puts on disk. The log is what makes feeds lossless across processes, so it stays; the planned fix is to log a batch of inserts as one entry naming the range of rows it added (read back by the feed), which costs nearly nothing per record.',
      ],
    },
    {
      id: 'point-reads',
      title: 'Point reads',
      method: `getTransaction of existing ids, ${READS.toLocaleString('en')} sequential calls per side after a warm-up pass, layer and baseline alternating, on databases of ${sizes[0].toLocaleString('en')} transactions. The ratio is hand-written p50 over layer p50 (1 = as fast).`,
      columns: ['engine', 'layer p50 (µs)', 'layer p99 (µs)', 'hand-written p50 (µs)', 'hand-written p99 (µs)', 'speed ratio (p50)'],
      rows: readRows,
      targets: readTargets,
      notes: [],
    },
  ];
}
