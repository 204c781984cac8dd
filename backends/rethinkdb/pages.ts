/**
 * `listRecords` for the rethinkdb backend: keyset pages through an index, `between` the last
 * key read and the end, so each page is one index range read however deep it is.
 *
 * Transactions are paged by the `write_order` index (their `seq` stamp, tables.ts), the order
 * they were written in, as the contract asks; the cursor holds the last transaction's id and
 * the server looks its stamp up, because old stamps hold times, which do not survive JSON.
 * Every other table is paged by its primary key.
 */
import { type RDatum, r } from 'rethinkdb-ts';
import type { HandlerMap } from '../../lib/dispatch';
import { DEFAULT_PAGE_SIZE, isKey, pageOf, readCursor } from '../../lib/pages';
import type * as query from '../../lib/query';
import type { TableName } from '../../lib/tables';
import type { RethinkConnection } from './connection';
import { TABLE_DEFINITIONS, publicRecord, stampOrder, table } from './tables';

/** The index transactions are paged by (tables.ts). */
const WRITE_ORDER_INDEX = 'write_order';

/** One page of `name` after primary key `after` (from the start without one): `{ key, record }` rows. */
function pageTerm(db: string, name: TableName, after: string | number | undefined, count: number) {
  const t = table(db, name);
  const pk = TABLE_DEFINITIONS[name].primaryKey;
  const leftBound = after === undefined ? 'closed' : 'open';
  const selection =
    name === 'transactions'
      ? t
          .between(
            after === undefined
              ? r.minval
              : t.get(after).do((doc: RDatum) => r.branch(doc.eq(null), r.error(`the transaction the cursor names (${after}) was deleted: start again`), stampOrder(doc))),
            r.maxval,
            { index: WRITE_ORDER_INDEX, leftBound },
          )
          .orderBy({ index: WRITE_ORDER_INDEX })
      : t.between(after ?? r.minval, r.maxval, { leftBound }).orderBy({ index: pk });
  return selection.limit(count).map((doc: RDatum) => ({ key: doc(pk), record: publicRecord(name, doc) }));
}

/** Tables keyed by height have numbers for keys; the others strings. */
const keyCheck = (name: TableName): ((key: unknown) => key is string | number) =>
  TABLE_DEFINITIONS[name].primaryKey === 'height' ? isKey.integer : isKey.string;

/** The backend's whole-table reads. */
export const pageHandlers: HandlerMap<typeof query, typeof RethinkConnection> = {
  async listRecords(conn, name, options = {}) {
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    const last = readCursor(options.after, name, keyCheck(name));
    // One row more than the page: whether there is a next page, without a count.
    const rows = (await conn.run(`list ${name}`, pageTerm(conn.db, name, last, limit + 1))) as { key: string | number; record: never }[];
    return pageOf(name, rows, limit, (row) => row.record, (row) => row.key);
  },
};
