/**
 * Reading a whole table in pages (`query.listRecords`): the record type of each table, the
 * page a backend returns, and the cursor that carries a reader from one page to the next.
 *
 * A cursor is opaque to callers: the key of the last record of a page, as JSON in base64url,
 * so that a backend can resume with a keyset condition (`WHERE key > last ORDER BY key`)
 * instead of an OFFSET that rescans every page before it. Each backend chooses the key (the
 * write order for transactions, the table's own key elsewhere); this module only encodes it
 * and refuses what is not one.
 */
import { ValidationError } from './errors';
import type { AbciChain, Asset, Block, Election, Metadata, PreCommitState, Transaction, Utxo, ValidatorSet } from './model';
import type { TableName } from './tables';

/**
 * The public record of each table, as `listRecords` returns it and `importLedger` takes it.
 *
 * @example
 * const block: TableRecords['blocks'] = { height: 1, app_hash: 'ab', transactions: [] };
 */
export interface TableRecords {
  transactions: Transaction;
  assets: Asset;
  metadata: Metadata;
  blocks: Block;
  utxos: Utxo;
  pre_commit: PreCommitState;
  validators: ValidatorSet;
  elections: Election;
  abci_chains: AbciChain;
}

/**
 * A record of any table, with the table it belongs to: one line of an export.
 *
 * @example
 * const entry: LedgerEntry = { table: 'blocks', record: { height: 1, app_hash: 'ab', transactions: [] } };
 * if (entry.table === 'blocks') console.log(entry.record.height);
 */
export type LedgerEntry = { [T in TableName]: { table: T; record: TableRecords[T] } }[TableName];

/**
 * Options of `query.listRecords`.
 *
 * @example
 * const page = await query.listRecords(conn, 'blocks', { limit: 500, after: previous.next });
 */
export interface ListRecordsOptions {
  /** The `next` cursor of the previous page; absent or null for the first page. */
  after?: string | null;
  /** Most records in the page, 1 to {@link MAX_PAGE_SIZE}. Default {@link DEFAULT_PAGE_SIZE}. */
  limit?: number;
}

/**
 * One page of a table: its records in the table's reading order, and the cursor of the next
 * page (null when this page is the last).
 *
 * @example
 * let page = await query.listRecords(conn, 'utxos');
 * while (page.next) page = await query.listRecords(conn, 'utxos', { after: page.next });
 */
export interface RecordPage<R = TableRecords[TableName]> {
  records: R[];
  next: string | null;
}

/**
 * Records in a page when `limit` is not given.
 *
 * @example
 * await query.listRecords(conn, 'transactions');   // at most DEFAULT_PAGE_SIZE records
 */
export const DEFAULT_PAGE_SIZE = 1000;

/**
 * The most records one page may hold (the largest batch a write takes, too).
 *
 * @example
 * await query.listRecords(conn, 'transactions', { limit: MAX_PAGE_SIZE });
 */
export const MAX_PAGE_SIZE = 100_000;

/**
 * The key of a table's reading order: a number, a string, or a tuple of them.
 *
 * @example
 * const key: PageKey = ['9f86d08...', 0];   // a UTXO's (transaction_id, output_index)
 */
export type PageKey = number | string | readonly (number | string | PageKey)[];

/**
 * The cursor that resumes `table` after the record whose key is `key`. It names its table, so
 * that a cursor handed to another table is refused rather than read as a key of that one.
 *
 * @example
 * const next = pageCursor('transactions', lastRow.seq);
 */
export function pageCursor(table: TableName, key: PageKey): string {
  return Buffer.from(JSON.stringify([table, key]), 'utf8').toString('base64url');
}

/**
 * The key inside `cursor`, checked by `isKey`; `undefined` for the first page (no cursor).
 * A cursor that is not one of this table's rejects with ValidationError at `options.after`.
 *
 * @example
 * const seq = readCursor(options.after, 'transactions', (k): k is number => Number.isSafeInteger(k));
 */
export function readCursor<K extends PageKey>(cursor: string | null | undefined, table: TableName, isKey: (key: unknown) => key is K): K | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const key = Array.isArray(decoded) && decoded.length === 2 && decoded[0] === table ? decoded[1] : undefined;
  if (!isKey(key)) throw new ValidationError(`invalid options.after: not a cursor of table ${table} (pass the 'next' of the page before)`, 'options.after');
  return key;
}

/**
 * Key checks for {@link readCursor}.
 *
 * @example
 * readCursor(after, 'blocks', isKey.integer);
 */
export const isKey = {
  integer: (key: unknown): key is number => Number.isSafeInteger(key),
  string: (key: unknown): key is string => typeof key === 'string',
  stringInteger: (key: unknown): key is [string, number] =>
    Array.isArray(key) && key.length === 2 && typeof key[0] === 'string' && Number.isSafeInteger(key[1]),
};

/**
 * The page to return when `rows` were read with a limit of `limit + 1`: the first `limit`
 * records, and a cursor after the last of them if there was one more row.
 *
 * @example
 * const rows = await db.all(`SELECT ... ORDER BY seq LIMIT ?`, [limit + 1]);
 * return pageOf('transactions', rows, limit, (row) => toRecord(row), (row) => row.seq);
 */
export function pageOf<Row, R>(table: TableName, rows: readonly Row[], limit: number, record: (row: Row) => R, key: (row: Row) => PageKey): RecordPage<R> {
  const page = rows.slice(0, limit);
  return { records: page.map(record), next: rows.length > limit && page.length ? pageCursor(table, key(page[page.length - 1])) : null };
}
