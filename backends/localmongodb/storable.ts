/**
 * What MongoDB cannot store, refused before anything is written, with the path of the first
 * bad field (as lib/model.ts reports the fields it refuses): a record that passes here is one
 * the server takes, and a batch holding one that does not writes nothing.
 *
 * - A key holding NUL (U+0000): BSON writes keys as NUL-terminated C strings, so the driver
 *   cannot even send one (other backends store such keys; the value of a field may hold NUL
 *   here too, BSON strings carry their length).
 * - Nesting past 100 levels: MongoDB documents "no more than 100 levels of nesting for BSON
 *   documents" (objects and arrays alike; the server refuses deeper ones with Overflow, code
 *   15). The levels chainstore's own layout adds count too: a transaction is stored under
 *   `body`, one level down (records.ts). The generics refuse earlier, at the limit every
 *   backend shares (lib/model.ts, MAX_NESTING), chosen so that this check never fires for
 *   a record that reached the handler; it stays for what the layout adds.
 */
import { ValidationError } from '../../lib/errors';
import { BACKEND } from './errors';

/**
 * The deepest level a field of a stored document may sit at: a top-level field is at level 1,
 * a field of an object (or an item of an array) that a level-1 field holds at level 2, and so on.
 *
 * @example
 * MONGODB_MAX_NESTING;   // 100
 */
export const MONGODB_MAX_NESTING = 100;

/**
 * Levels the stored document adds above a record's own fields: 1 for transactions (kept
 * under `body`), 0 for records stored in their own shape (asset data, metadata, validator sets).
 *
 * @example
 * STORED_DEPTH.transaction;   // 1
 */
export const STORED_DEPTH = Object.freeze({ transaction: 1, record: 0 });

/** A path part, as lib/model.ts writes paths: `[3]` for an index, `.key` (or `key` first) otherwise. */
const step = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/**
 * The first field of `value` MongoDB cannot store, with why, or null. `level` is the level
 * `value`'s own fields sit at in the stored document.
 *
 * @example
 * unstorable({ a: { 'b\u0000c': 1 } }, 1);   // { path: 'a.b\u0000c', reason: 'has a key holding NUL (U+0000), which MongoDB cannot store' }
 */
export function unstorable(value: unknown, level: number, path = ''): { path: string; reason: string } | null {
  if (value === null || typeof value !== 'object') return null;
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, item] of entries) {
    const at = step(path, key);
    if (typeof key === 'string' && key.includes('\u0000')) {
      return { path: at, reason: 'has a key holding NUL (U+0000), which MongoDB cannot store' };
    }
    if (level > MONGODB_MAX_NESTING) {
      return { path: at, reason: `is nested ${level} levels deep as stored; MongoDB stores at most ${MONGODB_MAX_NESTING}` };
    }
    const deeper = unstorable(item, level + 1, at);
    if (deeper) return deeper;
  }
  return null;
}

/**
 * Refuses, with a ValidationError naming the first bad field, a record MongoDB cannot
 * store; `storedDepth` is {@link STORED_DEPTH} of its kind.
 *
 * @example
 * checkStorable('transaction', tx, STORED_DEPTH.transaction);
 */
export function checkStorable(what: string, record: unknown, storedDepth: number, prefix = ''): void {
  const bad = unstorable(record, 1 + storedDepth, prefix);
  if (bad) throw new ValidationError(`[${BACKEND}] invalid ${what}: ${JSON.stringify(bad.path)} ${bad.reason}`, bad.path);
}

/**
 * {@link checkStorable} for every record of a batch, before any is written; a path starts
 * with the record's index (`[3].asset.data...`).
 *
 * @example
 * checkStorableBatch('transactions', txs, STORED_DEPTH.transaction);
 */
export function checkStorableBatch(what: string, records: readonly unknown[], storedDepth: number): void {
  records.forEach((record, index) => checkStorable(what, record, storedDepth, `[${index}]`));
}
