/**
 * Moving a ledger from one database to another, of the same engine or not: the target's
 * tables are made where missing, every record is copied in bulk batches (transactions in
 * write order), and both sides' checksums are compared at the end.
 */
import type { Connection } from './connection';
import { type LedgerDigestReport, compareDigests } from './digest';
import { digestLedger, exportLedger } from './export';
import { DEFAULT_BATCH_SIZE, type ImportOptions, type ImportReport, importLedger } from './import';
import { initDatabase } from './schema';
import type { TableName } from './tables';

/**
 * Options of {@link migrateLedger}.
 *
 * @example
 * await migrateLedger(from, to, { batchSize: 5000, onProgress: ({ read }) => console.log(read) });
 */
export interface MigrateOptions extends ImportOptions {
  /** Records read from the source per query. Default: the batch size (5,000 unless given). */
  pageSize?: number;
}

/**
 * What a migration did: the import's counts, the checksums of what was read from the source
 * and of the target afterwards, and the tables where they differ (none when the copy is exact).
 *
 * @example
 * const { differing } = await migrateLedger(from, to);
 * if (differing.length) console.error(`differs in ${differing.join(', ')}`);
 */
export interface MigrateReport extends ImportReport {
  /** The target's checksum, read after the copy. */
  target: LedgerDigestReport;
  /** Tables whose count or checksum differ between the source as read and the target. */
  differing: TableName[];
}

/**
 * Copies every record of `from`'s ledger into `to`'s, then compares checksums. Safe to run
 * again after an interruption: what is already in the target is not written twice. Stop the
 * nodes writing to the source first: records written during the copy may be missed, and the
 * comparison then says so.
 *
 * @example
 * const from = await connect({ url: 'sqlite:.chainstore/chainstore.db' });
 * const to = await connect({ url: 'postgres://postgres@127.0.0.1:5432/ledger' });
 * const report = await migrateLedger(from, to);
 * console.log(report.written.transactions, report.differing);   // 1000000 []
 */
export async function migrateLedger(from: Connection, to: Connection, options: MigrateOptions = {}): Promise<MigrateReport> {
  await initDatabase(to);
  const pageSize = options.pageSize ?? options.batchSize ?? DEFAULT_BATCH_SIZE;
  const report = await importLedger(to, exportLedger(from, { pageSize }), options);
  const target = await digestLedger(to, { pageSize });
  return { ...report, target, differing: compareDigests(report.digest, target) };
}
