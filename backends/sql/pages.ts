/**
 * `listRecords` for the SQL family: keyset pages (`WHERE key > last ORDER BY key LIMIT n`),
 * each one index range scan however deep into the table it is, where OFFSET would read
 * every row before the page again.
 *
 * Transactions, assets and metadata are read by `seq`, the row number given in write order:
 * for transactions it is the order the contract promises, and for the other two it keeps a
 * page read from the rows in the order they sit. Key order elsewhere: a UTXO by (transaction,
 * index), an election by (id, height), the rest by height.
 */
import type { HandlerMap } from '../../lib/dispatch';
import { DEFAULT_PAGE_SIZE, type PageKey, isKey, pageOf, readCursor } from '../../lib/pages';
import type * as query from '../../lib/query';
import type { TableName } from '../../lib/tables';
import type { Row, SqlConnection } from './connection';
import { RECORD_COLUMNS, toRecord } from './records';

/** How a table is paged: its key columns (compared as one row value) and the cursor's shape. */
interface PageSpec {
  key: readonly string[];
  isKey: (key: unknown) => key is PageKey;
  /** The key of a row (read with the key columns). */
  keyOf(row: Row): PageKey;
}

const bySeq: PageSpec = { key: ['seq'], isKey: isKey.integer, keyOf: (row) => Number(row.seq) };
const byHeight: PageSpec = { key: ['height'], isKey: isKey.integer, keyOf: (row) => Number(row.height) };
const byPair = (a: string, b: string): PageSpec => ({
  key: [a, b],
  isKey: isKey.stringInteger,
  keyOf: (row) => [row[a] as string, Number(row[b])],
});

const PAGES: Readonly<Record<TableName, PageSpec>> = {
  transactions: bySeq,
  assets: bySeq,
  metadata: bySeq,
  blocks: byHeight,
  utxos: byPair('transaction_id', 'output_index'),
  pre_commit: { key: ['id'], isKey: isKey.integer, keyOf: (row) => Number(row.id) },
  validators: byHeight,
  elections: byPair('election_id', 'height'),
  abci_chains: byHeight,
};

/** The SQL of one page of `table`, after a cursor or from the start. */
function pageSql(table: TableName, spec: PageSpec, resuming: boolean): string {
  const columns = [...new Set([...spec.key, ...RECORD_COLUMNS[table].split(', ')])].join(', ');
  const key = spec.key.length === 1 ? spec.key[0] : `(${spec.key.join(', ')})`;
  const after = spec.key.length === 1 ? '?' : `(${spec.key.map(() => '?').join(', ')})`;
  return `SELECT ${columns} FROM ${table}${resuming ? ` WHERE ${key} > ${after}` : ''} ORDER BY ${spec.key.join(', ')} LIMIT ?`;
}

/** The family's whole-table reads, registered for SqlConnection. */
export const sqlPageHandlers: HandlerMap<typeof query, typeof SqlConnection> = {
  async listRecords(conn, table, options = {}) {
    const spec = PAGES[table];
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    const last = readCursor(options.after, table, spec.isKey);
    const params = last === undefined ? [] : Array.isArray(last) ? last : [last];
    // One row more than the page: whether there is a next page, without a count.
    const rows = await conn.rows(`list ${table}`, pageSql(table, spec, last !== undefined), [...params, limit + 1]);
    const record = toRecord[table] as (c: SqlConnection, row: Row) => never;
    return pageOf(table, rows, limit, (row) => record(conn, row), spec.keyOf);
  },
};
