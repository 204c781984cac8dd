/**
 * Writing a whole ledger: `{ table, record }` entries (an export, a file, another engine)
 * into a database, in bulk batches, in constant memory, and safe to run again.
 *
 * Running it again after an interruption (or on a target that already holds part of the
 * records) duplicates nothing: records keyed by id (transactions, assets, metadata) and
 * blocks are written only where their key is missing; the other tables are upserts by their
 * key. A record already in the target is left as it is, even if it differs: the checksum at
 * the end of `migrate` (or `compareDigests`) is what says whether both sides agree.
 *
 * Write order: entries are written in the order they come, so transactions keep the order
 * of the export (their write order). On an engine without atomic batches, a batch cut by a
 * crash may have stored some of its records in another order; the transaction checksum says so.
 */
import type { Connection } from './connection';
import { LedgerDigest, type LedgerDigestReport } from './digest';
import { DuplicateKeyError, ValidationError } from './errors';
import type { Asset, Block, Metadata, Transaction } from './model';
import type { LedgerEntry, TableRecords } from './pages';
import * as query from './query';
import { TABLES, type TableName, isTableName } from './tables';

/**
 * Options of {@link importLedger}.
 *
 * @example
 * await importLedger(conn, entries, { batchSize: 5000, onProgress: (p) => console.log(p.table, p.read) });
 */
export interface ImportOptions {
  /** Records written per call, 1 to 100,000. Default {@link DEFAULT_BATCH_SIZE}. */
  batchSize?: number;
  /** Called after every batch, with the totals so far. */
  onProgress?: (progress: ImportProgress) => void;
}

/**
 * How far an import is: the table of the batch just written, and the records read, written
 * and skipped (already there) so far, in all tables.
 *
 * @example
 * onProgress: ({ table, read }) => bar.update(read, { table })
 */
export interface ImportProgress {
  table: TableName;
  read: number;
  written: number;
  skipped: number;
}

/**
 * What an import did, table by table, and the checksum of the entries it read (to compare
 * with the target's).
 *
 * @example
 * const { written, skipped, digest } = await importLedger(conn, entries);
 * console.log(`${written.transactions} transactions written, ${skipped.transactions} already there`);
 */
export interface ImportReport {
  written: Record<TableName, number>;
  skipped: Record<TableName, number>;
  /** The checksum of what was read (see lib/digest.ts). */
  digest: LedgerDigestReport;
}

/** Writes a batch of one table; resolves to how many of its records were skipped as already there. */
type BatchWriter<T extends TableName> = (conn: Connection, records: TableRecords[T][]) => Promise<number>;

/**
 * Writes the records of `batch` whose ids are missing: the write is tried first (an import
 * into an empty target never reads), and on DuplicateKeyError the ids already stored are
 * read and left out. `present` first instead, where most records are expected to exist
 * (assets and metadata, written with their transactions already).
 */
async function writeMissing<R extends { id: string }>(
  batch: R[],
  stored: (ids: string[]) => Promise<{ id: string }[]>,
  write: (records: R[]) => Promise<void>,
  readFirst: boolean,
): Promise<number> {
  let rest = batch;
  if (readFirst) rest = await withoutStored(rest, stored);
  // Each round leaves out at least one record (a key the error named was stored): bounded.
  for (let round = 0; rest.length; round += 1) {
    try {
      await write(rest);
      break;
    } catch (error) {
      if (!(error instanceof DuplicateKeyError) || round > batch.length) throw error;
      const left = await withoutStored(rest, stored);
      // Nothing stored explains it: the batch repeats an id, or the key is another table's.
      if (left.length === rest.length) throw error;
      rest = left;
    }
  }
  return batch.length - rest.length;
}

async function withoutStored<R extends { id: string }>(records: R[], stored: (ids: string[]) => Promise<{ id: string }[]>): Promise<R[]> {
  const there = new Set((await stored(records.map((r) => r.id))).map((r) => r.id));
  return records.filter((r) => !there.has(r.id));
}

/** Stores the blocks whose heights are missing, one statement each (there is no bulk block write). */
async function writeBlocks(conn: Connection, blocks: Block[]): Promise<number> {
  let skipped = 0;
  for (const block of blocks) {
    try {
      await query.storeBlock(conn, block);
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      skipped += 1;
    }
  }
  return skipped;
}

const WRITERS: { [T in TableName]: BatchWriter<T> } = {
  transactions: (conn, txs: Transaction[]) =>
    writeMissing(txs, (ids) => query.getTransactions(conn, ids), (rest) => query.writeTransactions(conn, rest), false),
  assets: (conn, assets: Asset[]) => writeMissing(assets, (ids) => query.getAssets(conn, ids), (rest) => query.storeAssets(conn, rest), true),
  metadata: (conn, metadata: Metadata[]) =>
    writeMissing(metadata, (ids) => query.getMetadata(conn, ids), (rest) => query.storeMetadatas(conn, rest), true),
  blocks: writeBlocks,
  utxos: async (conn, utxos) => {
    await query.storeUnspentOutputs(conn, utxos);
    return 0;
  },
  // One record; the last one read is the state.
  pre_commit: async (conn, states) => {
    await query.storePreCommitState(conn, states[states.length - 1]);
    return 0;
  },
  validators: async (conn, sets) => {
    for (const set of sets) await query.storeValidatorSet(conn, set);
    return 0;
  },
  elections: async (conn, elections) => {
    await query.storeElections(conn, elections);
    return 0;
  },
  abci_chains: async (conn, chains) => {
    for (const chain of chains) await query.storeAbciChain(conn, chain.height, chain.chain_id, chain.is_synced);
    return 0;
  },
};

/**
 * Records written per call when no batch size is given: on PostgreSQL, batches of 5,000
 * imported a 100,000-transaction ledger 20% faster than batches of 1,000, and a batch of
 * BigchainDB-sized records is a few megabytes.
 *
 * @example
 * await importLedger(conn, entries, { batchSize: DEFAULT_BATCH_SIZE / 5 });
 */
export const DEFAULT_BATCH_SIZE = 5000;

const zeroes = () => Object.fromEntries(TABLES.map((table) => [table, 0])) as Record<TableName, number>;

/**
 * Writes every entry into `conn`'s database, in batches of consecutive entries of one table,
 * skipping records already there (see the top of lib/import.ts); the tables must exist
 * (`schema.initDatabase`). A bad entry rejects with ValidationError naming its place in the
 * input, after the batches before it were written.
 *
 * @example
 * await schema.initDatabase(target);
 * const report = await importLedger(target, exportLedger(source));
 * console.log(report.written.transactions);
 */
export async function importLedger(
  conn: Connection,
  entries: AsyncIterable<LedgerEntry> | Iterable<LedgerEntry>,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new ValidationError(`invalid options.batchSize: expected an integer from 1 to 100000, got ${String(batchSize)}`, 'options.batchSize');
  }
  const written = zeroes();
  const skipped = zeroes();
  const digest = new LedgerDigest();
  let read = 0;
  let table: TableName | undefined;
  let batch: unknown[] = [];

  // One batch is written while the next is read: reading (a page of another database, a
  // file, parsing, the checksum) overlaps the write instead of waiting for it. A batch starts
  // only once the one before it is stored, so records are written in the order they came.
  let inFlight: Promise<void> = Promise.resolve();

  const write = async (into: TableName, records: unknown[], last: number) => {
    let already: number;
    try {
      already = await (WRITERS[into] as BatchWriter<TableName>)(conn, records as never[]);
    } catch (error) {
      // The generic names the record's place in its batch; the caller needs its place in the input.
      if (error instanceof ValidationError) {
        throw new ValidationError(`entries ${last - records.length + 1} to ${last} (${into}): ${error.message}`, error.path, { cause: error });
      }
      throw error;
    }
    written[into] += records.length - already;
    skipped[into] += already;
    options.onProgress?.({ table: into, read: last, written: sum(written), skipped: sum(skipped) });
  };

  const flush = async () => {
    if (!table || !batch.length) return;
    const records = batch;
    batch = [];
    await inFlight;
    inFlight = write(table, records, read);
    // Handled here so that a failure waits, without an unhandled rejection, for the next await.
    inFlight.catch(() => undefined);
  };

  try {
    for await (const entry of entries) {
      if (!entry || typeof entry !== 'object' || !isTableName(entry.table) || !('record' in entry)) {
        await flush();
        await inFlight;
        throw new ValidationError(
          `invalid entry ${read + 1}: expected { table, record } with table one of ${TABLES.join(', ')}`,
          `entries[${read}]`,
        );
      }
      if (entry.table !== table || batch.length >= batchSize) await flush();
      table = entry.table;
      batch.push(entry.record);
      digest.add(entry);
      read += 1;
    }
    await flush();
    await inFlight;
  } finally {
    // Whatever ends the loop, no write is left running behind the caller's back.
    await inFlight.catch(() => undefined);
  }
  return { written, skipped, digest: digest.report() };
}

const sum = (counts: Record<TableName, number>) => TABLES.reduce((total, table) => total + counts[table], 0);
