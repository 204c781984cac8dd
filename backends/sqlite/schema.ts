/**
 * Tables, indexes and triggers of the sqlite backend.
 *
 * Layout: each transaction is kept whole (JSON) in `transactions`, with side tables that
 * serve the lookups of the query contract: `outputs` (owner -> transaction), `spends`
 * (spent output -> spender), `block_transactions` (txid -> height). `outputs` and `spends`
 * name their transaction by id and by row number (`tx_seq`), which lookups use. Asset data and metadata
 * have their own tables with FTS5 indexes, written with them by documents.ts.
 *
 * Every change is appended to `changes`, the change log that changefeeds read by sequence
 * number (changelog.ts: by triggers, and by the bulk writes for their inserts), in the same
 * transaction as the change, so a feed can neither miss a committed change nor see an
 * uncommitted one, whichever process wrote it.
 *
 * All DDL is `IF NOT EXISTS`, so creating the tables is idempotent and additive.
 */
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HandlerMap } from '../../lib/dispatch';
import { OperationError, UnsupportedOperationError } from '../../lib/errors';
import * as schema from '../../lib/schema';
import { TABLES } from '../../lib/tables';
import { CHANGE_REF_INDEX, LOG_IDENTITY_SQL, RANGE_COLUMNS, changeLogTriggers } from './changelog';
import { SqliteConnection } from './connection';
import { mapSqliteError } from './errors';
import { RETIRED_TABLE, RETIRED_TABLE_SQL, retiredTrigger } from './retired';

const TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'";

/**
 * A table of JSON documents with a contentless FTS5 index over their string values. The
 * index text is written by documents.ts (computed in JavaScript, much faster than json_tree
 * in a trigger); deletion stays a trigger. Databases made by an earlier version have insert
 * and update triggers that indexed in SQL: they are retired (retired.ts), or every row would
 * be indexed twice.
 */
function searchableTable(table: string, column: string): string {
  return `
    CREATE TABLE IF NOT EXISTS ${table} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ${column} TEXT);
    CREATE VIRTUAL TABLE IF NOT EXISTS ${table}_fts USING fts5(text, content = '', contentless_delete = 1, ${TOKENIZER});
    ${retiredTrigger(`${table}_fts_insert`)}
    ${retiredTrigger(`${table}_fts_update`)}
    CREATE TRIGGER IF NOT EXISTS ${table}_fts_delete AFTER DELETE ON ${table} BEGIN
      DELETE FROM ${table}_fts WHERE rowid = OLD.seq;
    END;`;
}

/**
 * The tables and indexes; every statement is idempotent.
 *
 * `changes.seq` is a plain rowid, not AUTOINCREMENT: SQLite gives a new row the largest seq
 * plus one, and pruning (connection.ts) always keeps the newest entries, so a seq is never
 * handed out twice; AUTOINCREMENT would add a write to sqlite_sequence for every logged row,
 * measured at a third of a bulk write's time. (Databases made with it keep it, correctly.)
 */
export const TABLES_SQL = `
  ${RETIRED_TABLE_SQL}
  CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op INTEGER NOT NULL, record TEXT NOT NULL,
    ref INTEGER, ref_to INTEGER, prior TEXT);

  CREATE TABLE IF NOT EXISTS transactions (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, operation TEXT NOT NULL, asset_id TEXT NOT NULL, body TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS transactions_asset ON transactions (asset_id, operation);

  CREATE TABLE IF NOT EXISTS outputs (
    public_key TEXT NOT NULL, transaction_id TEXT NOT NULL, output_index INTEGER NOT NULL, sole INTEGER NOT NULL,
    tx_seq INTEGER, PRIMARY KEY (public_key, transaction_id, output_index)) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS spends (
    fulfills_txid TEXT NOT NULL, fulfills_index INTEGER NOT NULL, transaction_id TEXT NOT NULL,
    tx_seq INTEGER, PRIMARY KEY (fulfills_txid, fulfills_index, transaction_id)) WITHOUT ROWID;

  ${searchableTable('assets', 'data')}
  ${searchableTable('metadata', 'metadata')}

  CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, app_hash TEXT NOT NULL, transactions TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS block_transactions (
    transaction_id TEXT NOT NULL, height INTEGER NOT NULL, PRIMARY KEY (transaction_id, height)) WITHOUT ROWID;
  CREATE TRIGGER IF NOT EXISTS blocks_index_insert AFTER INSERT ON blocks BEGIN
    INSERT OR IGNORE INTO block_transactions (transaction_id, height) SELECT value, NEW.height FROM json_each(NEW.transactions);
  END;
  CREATE TRIGGER IF NOT EXISTS blocks_index_delete AFTER DELETE ON blocks BEGIN
    DELETE FROM block_transactions WHERE height = OLD.height AND transaction_id IN (SELECT value FROM json_each(OLD.transactions));
  END;

  CREATE TABLE IF NOT EXISTS utxos (
    transaction_id TEXT NOT NULL, output_index INTEGER NOT NULL, amount TEXT NOT NULL, asset_id TEXT NOT NULL,
    condition_uri TEXT NOT NULL, PRIMARY KEY (transaction_id, output_index)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS utxos_asset ON utxos (asset_id);

  CREATE TABLE IF NOT EXISTS pre_commit (
    id INTEGER PRIMARY KEY CHECK (id = 1), height INTEGER NOT NULL, transactions TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS validators (height INTEGER PRIMARY KEY, validators TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS elections (
    election_id TEXT NOT NULL, height INTEGER NOT NULL, is_concluded INTEGER NOT NULL,
    PRIMARY KEY (election_id, height)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS elections_height ON elections (height);
  CREATE TABLE IF NOT EXISTS abci_chains (height INTEGER PRIMARY KEY, chain_id TEXT NOT NULL, is_synced INTEGER NOT NULL);
  CREATE UNIQUE INDEX IF NOT EXISTS abci_chains_chain_id ON abci_chains (chain_id);
`;

/** The change log's index and triggers, run after {@link upgradeChangeLog}. */
const CHANGE_LOG_SQL = `${LOG_IDENTITY_SQL}\n${CHANGE_REF_INDEX};\n${TABLES.map(changeLogTriggers).join('\n')}`;

/** Adds the columns of range entries (changelog.ts) to a log made by an earlier version. */
function upgradeChangeLog(conn: SqliteConnection): void {
  const columns = new Set((conn.db.pragma('table_info(changes)') as { name: string }[]).map((column) => column.name));
  for (const [column, type] of Object.entries(RANGE_COLUMNS)) {
    if (!columns.has(column)) conn.db.exec(`ALTER TABLE changes ADD COLUMN ${column} ${type}`);
  }
}

/** The side tables that name their transaction by row number too, with their primary keys. */
const LINKED_SIDE_TABLES = {
  outputs: ['public_key', 'transaction_id', 'output_index'],
  spends: ['fulfills_txid', 'fulfills_index', 'transaction_id'],
} as const;

const rowNumberOf = (table: string) => `(SELECT seq FROM transactions t WHERE t.id = ${table}.transaction_id)`;

/**
 * Fills in `tx_seq` for a row an earlier version writes without it (it inserts the
 * transaction first, so its row number is there to find). Lookups go by `tx_seq` alone, so
 * without this such a row would be missed, silently. The WHEN clause makes it cost nothing
 * measurable on this version's writes (20,000 transactions: 414 ms without, 415 ms with).
 */
const linkTrigger = (table: keyof typeof LINKED_SIDE_TABLES) => `
  CREATE TRIGGER IF NOT EXISTS ${table}_link_row AFTER INSERT ON ${table} WHEN NEW.tx_seq IS NULL BEGIN
    UPDATE ${table} SET tx_seq = ${rowNumberOf(table)}
     WHERE ${LINKED_SIDE_TABLES[table].map((column) => `${column} = NEW.${column}`).join(' AND ')};
  END;`;

/**
 * Gives the side tables of an earlier version their `tx_seq` column (the transaction's row
 * number, which lets a lookup skip the id index: SqliteConnection.transactionLink), filled
 * in for the rows already there (one UPDATE of each table, under the write lock: about 6.5 s
 * for a ledger of 1M transactions), and the triggers that fill it for rows written without it.
 */
function upgradeSideTables(conn: SqliteConnection): void {
  for (const table of Object.keys(LINKED_SIDE_TABLES) as (keyof typeof LINKED_SIDE_TABLES)[]) {
    const columns = (conn.db.pragma(`table_info(${table})`) as { name: string }[]).map((column) => column.name);
    if (!columns.includes('tx_seq')) conn.db.exec(`ALTER TABLE ${table} ADD COLUMN tx_seq INTEGER; UPDATE ${table} SET tx_seq = ${rowNumberOf(table)}`);
    conn.db.exec(linkTrigger(table));
  }
}

/** Every table, virtual table and side table, in an order safe to drop. */
const ALL_TABLES = [...TABLES, 'assets_fts', 'metadata_fts', 'outputs', 'spends', 'block_transactions', 'changes', 'change_log_identity', RETIRED_TABLE];

const MEMORY = ':memory:';

/**
 * The file `name` names when it is not the connection's own database, else undefined (the
 * connection's own: `name` absent, or a path that resolves to the connection's file, or
 * reaches that file by another path, a link; `':memory:'` on a `':memory:'` connection).
 * A file name on a `':memory:'` connection names that file. `':memory:'` on a file
 * connection is refused: a private in-memory database lives only inside the connection that
 * opens it, so no call through another connection can create, fill, inspect or drop one.
 */
function otherFile(conn: SqliteConnection, name: string | undefined, what: string): string | undefined {
  if (name === undefined) return undefined;
  if (name === MEMORY) {
    if (conn.path === MEMORY) return undefined;
    throw new UnsupportedOperationError(
      'sqlite',
      `${what} ':memory:': a private in-memory database exists only inside the connection that opens it, so none can be reached through the connection to ${conn.path}`,
    );
  }
  const path = resolve(name);
  return conn.path !== MEMORY && sameFile(path, conn.path) ? undefined : path;
}

/** True if two absolute paths are one file (the same string, or a link to it). */
function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Runs `work` on a connection of its own to file `path`, with `conn`'s options, and closes it.
 */
async function onFile<T>(conn: SqliteConnection, path: string, work: (other: SqliteConnection) => T | Promise<T>): Promise<T> {
  const other = new SqliteConnection(Object.freeze({ ...conn.config, name: path, displayUrl: undefined }));
  try {
    return await work(other);
  } finally {
    await other.close();
  }
}

/** The first bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Deletes database file `path` with its WAL, shared-memory index and rollback journal (a
 * journal left behind would be played into a new file of that name). A missing file is
 * already dropped. A file that is not an SQLite database is refused and kept: `name` may
 * be mistyped, and a drop must not delete whatever file it names.
 */
function deleteDatabaseFile(path: string): void {
  const what = `drop database ${path}`;
  let header: Buffer | undefined;
  try {
    header = readFileHead(path, SQLITE_HEADER.length);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw mapSqliteError(error, what);
  }
  // An empty file is an empty database to SQLite.
  if (header && header.length > 0 && !header.equals(SQLITE_HEADER)) {
    throw new OperationError('sqlite', `${what}: the file is not an SQLite database; it was not deleted`);
  }
  try {
    for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(file, { force: true });
  } catch (error) {
    throw mapSqliteError(error, what);
  }
}

function readFileHead(path: string, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    return buffer.subarray(0, readSync(fd, buffer, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

function createTablesOf(conn: SqliteConnection): void {
  conn.write('create tables', () => {
    conn.db.exec(TABLES_SQL);
    upgradeSideTables(conn);
    upgradeChangeLog(conn);
    conn.db.exec(CHANGE_LOG_SQL);
  });
  conn.forgetStatements();
}

function hasTables(conn: SqliteConnection): boolean {
  if (!conn.exists()) return false;
  return conn.read('inspect schema', () =>
    Boolean(conn.statement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'transactions'").get()),
  );
}

/**
 * The schema handlers of the sqlite backend, registered by its index. `name` is a database
 * file (see {@link otherFile}): another file than the connection's is opened for the call
 * with the connection's options and closed again; the connection's own is used as it is.
 */
export const schemaHandlers: HandlerMap<typeof schema, typeof SqliteConnection> = {
  // The file is the database: opening it creates it (and its directory).
  async createDatabase(conn, name) {
    const path = otherFile(conn, name, 'create database');
    if (path === undefined) conn.read('create database', () => conn.db);
    else await onFile(conn, path, (other) => other.read('create database', () => other.db));
  },

  async createTables(conn, name) {
    const path = otherFile(conn, name, 'create tables');
    if (path === undefined) createTablesOf(conn);
    else await onFile(conn, path, createTablesOf);
  },

  // A connection cannot delete its own open file; dropping it empties it of every table.
  // Another file is deleted.
  async dropDatabase(conn, name) {
    const path = otherFile(conn, name, 'drop database');
    if (path !== undefined) {
      deleteDatabaseFile(path);
      return;
    }
    conn.write('drop database', () => {
      for (const table of ALL_TABLES) conn.db.exec(`DROP TABLE IF EXISTS ${table}`);
    });
    conn.forgetStatements();
  },

  // Asking must not create the file: `status` on a path that does not exist stays read-only.
  async isInitialized(conn, name) {
    const path = otherFile(conn, name, 'inspect schema');
    if (path === undefined) return hasTables(conn);
    return onFile(conn, path, hasTables);
  },
};
