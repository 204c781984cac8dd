/**
 * Keyed batch writes with exact duplicate reporting, for every SQL engine: the batch is
 * written in one transaction; when a unique key is hit, the transaction has rolled back and
 * the keys that collided (repeated within the batch, or already stored) are looked up and
 * listed in the DuplicateKeyError. The lookup runs only on failure, so the common path pays
 * nothing for it.
 */
import { DuplicateKeyError, duplicateKeys } from '../../lib/errors';
import { repeatedKeys } from '../../lib/model';
import type { SqlConnection } from './connection';

/** Tables keyed by a public id. */
export type KeyedTable = 'transactions' | 'assets' | 'metadata';

/** The ids among `ids` already stored in `table`. */
export async function storedKeys(conn: SqlConnection, table: KeyedTable, ids: readonly string[]): Promise<string[]> {
  const rows = await conn.rows(`find existing ${table}`, `SELECT id FROM ${table} WHERE ${conn.inList('id')}`, [conn.listParam(ids)]);
  return rows.map((row) => row.id as string);
}

const duplicates = (conn: SqlConnection, what: string, keys: readonly string[], cause?: unknown): DuplicateKeyError =>
  duplicateKeys(conn.backend, what, keys, cause);

/**
 * Runs `write` (which stores records keyed by `ids` in `table`, all or nothing) and turns a
 * unique violation on those keys into a DuplicateKeyError listing exactly the duplicates.
 * A violation elsewhere (a block height in a commit) is rethrown as the engine reported it.
 *
 * @example
 * await writeUnique(conn, 'write transactions', 'transactions', txs.map((tx) => tx.id), () => insertAll(txs));
 */
export async function writeUnique(
  conn: SqlConnection,
  what: string,
  table: KeyedTable,
  ids: readonly string[],
  write: () => unknown,
): Promise<void> {
  const repeated = repeatedKeys(ids, (id) => id);
  if (repeated.length) {
    const stored = await storedKeys(conn, table, ids);
    throw duplicates(conn, what, [...new Set([...repeated, ...stored])]);
  }
  try {
    await write();
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
    const stored = await storedKeys(conn, table, ids);
    if (stored.length === 0) throw error;
    throw duplicates(conn, what, stored, error.cause);
  }
}
