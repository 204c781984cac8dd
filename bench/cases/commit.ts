/**
 * commitBlock throughput for blocks of 1, 100 and 1,000 transactions, and the time recover()
 * takes to roll back a 1,000-transaction block left half-committed by a crash.
 */
import { query, recover, utxoChanges } from '../../lib';
import { type EngineName, openLayer } from '../support/engines';
import { median, round, timeMs } from '../support/measure';
import type { Row, Section } from '../support/report';
import { blockOf, transactions } from '../support/workload';

/** Blocks committed per size: enough for a steady rate, few enough to stay within a minute. */
const BLOCKS: Record<number, number> = { 1: 300, 100: 40, 1000: 8 };

export async function commitSection(engines: readonly EngineName[], quick: boolean): Promise<Section> {
  const rows: Row[] = [];
  for (const engine of engines) {
    for (const size of [1, 100, 1000]) {
      const count = quick ? Math.max(2, BLOCKS[size] / 4) : BLOCKS[size];
      const { conn, close } = await openLayer(engine);
      try {
        const blocks = Array.from({ length: count }, (_, b) => {
          const txs = transactions(`bench/commit/${size}`, size, b * size);
          return { block: blockOf(b + 1, txs), txs };
        });
        await query.commitBlock(conn, blocks[0].block, blocks[0].txs); // warm-up (its own height)
        const ms = await timeMs(async () => {
          for (const { block, txs } of blocks.slice(1)) await query.commitBlock(conn, block, txs);
        });
        const committed = count - 1;
        rows.push({
          engine,
          operation: `commitBlock, ${size.toLocaleString('en')} tx per block`,
          'blocks/s': round(committed / (ms / 1000)),
          'tx/s': Math.round((committed * size) / (ms / 1000)),
          'ms per block': round(ms / committed),
        });
      } finally {
        await close();
      }
    }
    rows.push(await recoverRow(engine, quick ? 1 : 3));
  }
  return {
    id: 'commit',
    title: 'Commit and recovery',
    method:
      'commitBlock of consecutive blocks into a fresh database, after one warm-up block. Recovery: the steps a crash interrupts (pre-commit record, transactions, UTXO changes; no block row) are run for a 1,000-transaction block on a ledger of 10,000 committed transactions, then recover() is timed; median of the rounds.',
    columns: ['engine', 'operation', 'blocks/s', 'tx/s', 'ms per block'],
    rows,
    targets: [],
    notes: [],
  };
}

async function recoverRow(engine: EngineName, rounds: number): Promise<Row> {
  const { conn, close } = await openLayer(engine);
  try {
    const committed = transactions('bench/recover', 10_000);
    for (let b = 0; b < 10; b += 1) {
      const txs = committed.slice(b * 1000, (b + 1) * 1000);
      await query.commitBlock(conn, blockOf(b + 1, txs), txs);
    }
    const times: number[] = [];
    for (let r = 0; r < rounds; r += 1) {
      // The state a crash before storeBlock leaves: everything but the block row.
      const txs = transactions(`bench/recover/crashed/${r}`, 1000);
      const block = blockOf(11, txs);
      await query.storePreCommitState(conn, { height: block.height, transactions: block.transactions });
      await query.writeTransactions(conn, txs);
      const { spent, created } = utxoChanges(txs);
      await query.deleteUnspentOutputs(conn, spent);
      await query.storeUnspentOutputs(conn, created);
      let report: Awaited<ReturnType<typeof recover>> | undefined;
      times.push(await timeMs(async () => (report = await recover(conn))));
      if (report?.action !== 'rolled-back' || report.transactions.length !== 1000) throw new Error(`recover() did not roll the block back: ${JSON.stringify(report)}`);
    }
    const ms = median(times);
    return { engine, operation: 'recover(), rolling back a 1,000-tx block', 'blocks/s': '', 'tx/s': Math.round(1000 / (ms / 1000)), 'ms per block': round(ms) };
  } finally {
    await close();
  }
}
