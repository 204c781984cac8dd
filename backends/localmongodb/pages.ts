/**
 * `listRecords` for the mongodb backend: every collection is paged by `_id`, through the
 * index every collection has. `_id` is an ObjectId made in write order (records.ts), so
 * transactions come in the order they were written, as the contract asks, and the other
 * collections in the order they were written too.
 */
import type { HandlerMap } from '../../lib/dispatch';
import { DEFAULT_PAGE_SIZE, pageOf, readCursor } from '../../lib/pages';
import type * as query from '../../lib/query';
import type { MongoConnection } from './connection';
import { type Document, ObjectId } from './driver';
import { publicRecord } from './records';

/** A cursor's key: the hex of the last ObjectId read. */
const isObjectIdHex = (key: unknown): key is string => typeof key === 'string' && /^[0-9a-f]{24}$/.test(key);

/** The backend's whole-table reads. */
export const pageHandlers: HandlerMap<typeof query, typeof MongoConnection> = {
  async listRecords(conn, table, options = {}) {
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    const last = readCursor(options.after, table, isObjectIdHex);
    const filter: Document = last === undefined ? {} : { _id: { $gt: new ObjectId(last) } };
    // One document more than the page: whether there is a next page, without a count.
    const rows = await conn.attempt(`list ${table}`, (db) => db.collection(table).find(filter, { sort: { _id: 1 }, limit: limit + 1 }).toArray());
    return pageOf(table, rows, limit, (row) => publicRecord(table, row) as never, (row) => String(row._id));
  },
};
