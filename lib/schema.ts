/**
 * `schema`: creating and dropping a backend's database and tables (DESIGN section 5).
 */
import type { Connection } from './connection';
import { type GenericSignature, defineInterface, generic, rejectAsync } from './dispatch';
import { checkArgument } from './model';

function declare<F extends GenericSignature>(name: string) {
  return generic<F>(`schema.${name}`, {
    failure: rejectAsync,
    check: (_conn: unknown, dbName?: unknown) =>
      checkArgument('name', dbName === undefined || (typeof dbName === 'string' && dbName !== ''), dbName, 'a database name'),
  } as never);
}

/**
 * Creates the database if the engine has such a thing (a no-op where the file or schema
 * is made on connect). `name` is the database to act on (for sqlite, a database file,
 * resolved like the `name` option); absent, the connection's own.
 *
 * @example
 * await schema.createDatabase(conn, 'ledger');
 */
export const createDatabase = declare<(conn: Connection, name?: string) => Promise<void>>('createDatabase');

/**
 * Creates every table and index that is missing, in database `name` (absent: the
 * connection's own): the unique keys of DESIGN section 5 and the text indexes for search.
 * Existing tables and their data are left alone.
 *
 * @example
 * await schema.createTables(conn, 'ledger');
 */
export const createTables = declare<(conn: Connection, name?: string) => Promise<void>>('createTables');

/**
 * Drops database `name` (absent: the connection's own) and everything in it. There is no
 * undo. Another database than the connection's own is dropped, never the connection's.
 *
 * @example
 * await schema.dropDatabase(conn, 'ledger');
 */
export const dropDatabase = declare<(conn: Connection, name?: string) => Promise<void>>('dropDatabase');

/**
 * True if database `name` (absent: the connection's own) has chainstore's tables (possibly
 * from an older version). Asking creates nothing.
 *
 * @example
 * if (!(await schema.isInitialized(conn))) await schema.initDatabase(conn);
 */
export const isInitialized = declare<(conn: Connection, name?: string) => Promise<boolean>>('isInitialized');

/**
 * Creates database `name` and its tables; `name` defaults to the connection's configured
 * database. Idempotent and additive: on an existing or older database it adds what is
 * missing and loses nothing. Through one connection, another database can be made (and
 * then reached by connecting to it by name).
 *
 * @example
 * const conn = await connect();
 * await schema.initDatabase(conn);
 * await schema.initDatabase(conn, 'ledger_archive');   // another database, through the same connection
 */
export async function initDatabase(conn: Connection, name: string = conn.config.name): Promise<void> {
  await createDatabase(conn, name);
  await createTables(conn, name);
}

defineInterface('schema', { createDatabase, createTables, dropDatabase, isInitialized });
