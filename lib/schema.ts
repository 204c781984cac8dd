/**
 * `schema`: creating and dropping a backend's database and tables (docs/design.md section 5).
 *
 * `name`, in each generic and in initDatabase, is the database to act on, never silently
 * the connection's own: a database on the server, or for sqlite a database file resolved
 * like the `name` option (`./x.db` and its absolute path are one file). Absent, or naming
 * the connection's own database, the call acts on the connection's database. On sqlite,
 * another file is created with its directory, given its tables through a connection of its
 * own, inspected without being created, and dropped by deleting it with its `-wal` and
 * `-shm` (a file that is not an SQLite database is refused and kept); the connection's own
 * file, being open, is dropped by emptying it of every table. `':memory:'` names the
 * connection's own database on a `':memory:'` connection; on a file connection it names
 * nothing a call could reach (a private in-memory database lives inside the connection
 * that opens it), and the call rejects with UnsupportedOperationError.
 *
 * @example
 * await schema.initDatabase(conn, 'dummy_db');   // another database, through conn
 * await schema.dropDatabase(conn, 'dummy_db');   // drops it; conn's own database is untouched
 *
 * @module
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
 * connection's own): the unique keys of docs/design.md section 5 and the text indexes for search.
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
