/**
 * Moving a ledger from SQLite to PostgreSQL with migrateLedger (what `chainstore migrate`
 * runs): 100,000 and 1,000,000 transactions committed in blocks of 1,000, copied with their
 * asset data, metadata, blocks and UTXOs, then both sides' checksums compared. Each migration
 * runs in a child process, whose peak JS heap and peak resident memory are reported: a heap
 * flat from one size to the next is what "constant memory" means.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type Connection, admin, connect, query, schema } from '../../lib';
import { scratch } from '../support/engines';
import { round } from '../support/measure';
import type { Row, Section } from '../support/report';
import { blockOf, transactions } from '../support/workload';

const BLOCK = 1000;
/**
 * The JS heap the migration process may have: it must copy a million transactions within it
 * (V8 would otherwise let the heap grow far past what is live before collecting, and the peak
 * would say nothing about what the migration keeps).
 */
const HEAP_LIMIT_MIB = 256;

async function fill(conn: Connection, count: number): Promise<void> {
  for (let from = 0, height = 1; from < count; from += BLOCK, height += 1) {
    const txs = transactions('bench/migrate', Math.min(BLOCK, count - from), from);
    await query.commitBlock(conn, blockOf(height, txs), txs);
  }
}

export async function migrateSection(quick: boolean): Promise<Section> {
  const rows: Row[] = [];
  for (const count of quick ? [10_000, 40_000] : [100_000, 1_000_000]) {
    const [source, target] = [await scratch('sqlite'), await scratch('postgres')];
    try {
      const conn = await connect({ backend: 'sqlite', name: source.location, synchronous: 'NORMAL' }, {});
      await schema.initDatabase(conn);
      await fill(conn, count);
      const records = Object.values(await admin.countRecords(conn)).reduce((a, b) => a + b, 0);
      await conn.close();
      const child = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_LIMIT_MIB}`, '-r', 'ts-node/register/transpile-only', join(__dirname, '../support/migrate-child.ts'), source.location, target.location], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      if (child.status !== 0) throw new Error(`migration of ${count} transactions failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { ms: number; maxRssMiB: number; heapPeakMiB: number; differing: string[]; written: number };
      rows.push({
        transactions: count.toLocaleString('en'),
        'records (all tables)': records.toLocaleString('en'),
        seconds: round(result.ms / 1000, 1),
        'tx/s': Math.round(count / (result.ms / 1000)),
        'peak JS heap (MiB)': Math.round(result.heapPeakMiB),
        'peak RSS (MiB)': Math.round(result.maxRssMiB),
        checksums: result.differing.length ? `differ in ${result.differing.join(', ')}` : 'match',
      });
    } finally {
      await Promise.all([source.remove(), target.remove()]);
    }
  }
  return {
    id: 'migrate',
    title: 'Migration, SQLite to PostgreSQL',
    method:
      'A SQLite ledger of N transactions (half CREATEs with asset data and metadata, half TRANSFERs; committed in blocks of 1,000, so with blocks and UTXOs) is copied into a new PostgreSQL database by migrateLedger (the `chainstore migrate` path: tables made, pages of 5,000 read, batches of 5,000 written, then the target read back for its checksums), in a child process; time from start to the checksum comparison, and the child\'s peak resident memory.',
    columns: ['transactions', 'records (all tables)', 'seconds', 'tx/s', 'peak JS heap (MiB)', 'peak RSS (MiB)', 'checksums'],
    rows,
    targets: [],
    notes: [
      `The migration process runs with its JS heap capped at ${HEAP_LIMIT_MIB} MiB (--max-old-space-size), whatever the ledger's size: that it finishes is what "constant memory" means; the peak heap is sampled every 200 ms.`,
      'The JS heap is what the migration itself holds. The resident set also counts the pages of the source file SQLite has read through its memory map (mmapSize, 2 GiB by default): file pages the kernel can drop at any time, which grow with the file, not with what the process keeps.',
    ],
  };
}
