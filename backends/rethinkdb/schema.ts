/**
 * Database, tables and indexes of the rethinkdb backend (see tables.ts for what they hold).
 *
 * Everything is idempotent and additive: a database, table or index is created only when
 * missing (checked in the same query), and one created meanwhile by another process counts
 * as created. Tables get the `shards` and `replicas` options when given. Index builds are
 * waited for, so the first query after `createTables` finds every index ready.
 */
import { type RDatum, r } from 'rethinkdb-ts';
import type { HandlerMap } from '../../lib/dispatch';
import { OperationError } from '../../lib/errors';
import type * as schema from '../../lib/schema';
import type { RethinkConnection } from './connection';
import { type IndexDefinition, STORED_TABLES, type StoredTable, TABLE_DEFINITIONS } from './tables';

/**
 * Placement of new tables (the server's default when a field is undefined).
 *
 * @example
 * createTableTerm(db, 'blocks', { shards: 2, replicas: 3 });
 */
export interface TablePlacement {
  shards?: number;
  replicas?: number;
}

/**
 * Creates database `name` unless it exists.
 *
 * @example
 * createDatabaseTerm('ledger');
 */
export function createDatabaseTerm(name: string) {
  return r.branch(r.dbList().contains(name), { dbs_created: 0 }, r.dbCreate(name));
}

/**
 * Drops database `name` if it exists.
 *
 * @example
 * dropDatabaseTerm('ledger');
 */
export function dropDatabaseTerm(name: string) {
  return r.branch(r.dbList().contains(name), r.dbDrop(name), { dbs_dropped: 0 });
}

/**
 * Creates a table of database `db` with its primary key, unless it exists.
 *
 * @example
 * createTableTerm('ledger', 'blocks', { replicas: 3 });
 */
export function createTableTerm(db: string, name: StoredTable, placement: TablePlacement = {}) {
  const options = { primaryKey: TABLE_DEFINITIONS[name].primaryKey, ...defined(placement) };
  return r.branch(r.db(db).tableList().contains(name), { tables_created: 0 }, r.db(db).tableCreate(name, options));
}

/**
 * Creates a secondary index unless the table has one of that name.
 *
 * @example
 * createIndexTerm('ledger', 'transactions', TABLE_DEFINITIONS.transactions.indexes[0]);
 */
export function createIndexTerm(db: string, name: StoredTable, index: IndexDefinition) {
  const table = r.db(db).table(name);
  return r.branch(table.indexList().contains(index.name), { created: 0 }, table.indexCreate(index.name, index.key, { multi: index.multi ?? false }));
}

/**
 * Waits until every index of a table is built.
 *
 * @example
 * waitForIndexesTerm('ledger', 'transactions');
 */
export function waitForIndexesTerm(db: string, name: StoredTable) {
  return r.db(db).table(name).indexWait();
}

/**
 * True if database `name` exists and has chainstore's tables.
 *
 * @example
 * isInitializedTerm('ledger');
 */
export function isInitializedTerm(name: string): RDatum<boolean> {
  return r.branch(r.dbList().contains(name), r.db(name).tableList().contains('transactions'), false);
}

function defined(placement: TablePlacement): TablePlacement {
  return Object.fromEntries(Object.entries(placement).filter(([, value]) => value !== undefined));
}

/** Runs a create that another process may have run first: "already exists" is success. */
async function create(conn: RethinkConnection, what: string, term: Parameters<RethinkConnection['run']>[1]): Promise<void> {
  try {
    await conn.run(what, term, { write: true });
  } catch (error) {
    if (!(error instanceof OperationError && /already exists/i.test(error.message))) throw error;
  }
}

/**
 * The schema handlers of the rethinkdb backend, registered by its index.
 *
 * @example
 * registerHandlers(RethinkConnection, schema, schemaHandlers);
 */
export const schemaHandlers: HandlerMap<typeof schema, typeof RethinkConnection> = {
  async createDatabase(conn, name = conn.db) {
    await create(conn, 'create database', createDatabaseTerm(name));
  },

  async createTables(conn, name = conn.db) {
    const placement = { shards: conn.options.shards, replicas: conn.options.replicas };
    for (const table of STORED_TABLES) await create(conn, `create table ${table}`, createTableTerm(name, table, placement));
    // A new table may take a moment to accept writes (index builds are writes to it).
    await conn.run('create tables', r.db(name).wait({ waitFor: 'ready_for_writes' }));
    for (const table of STORED_TABLES) {
      for (const index of TABLE_DEFINITIONS[table].indexes) await create(conn, `create index ${table}.${index.name}`, createIndexTerm(name, table, index));
      await conn.run('create tables', waitForIndexesTerm(name, table));
    }
  },

  async dropDatabase(conn, name = conn.db) {
    try {
      await conn.run('drop database', dropDatabaseTerm(name), { write: true });
    } catch (error) {
      // Dropped meanwhile by another process: that is what was asked.
      if (!(error instanceof OperationError && /does not exist/i.test(error.message))) throw error;
    }
  },

  async isInitialized(conn, name = conn.db) {
    return conn.run('inspect schema', isInitializedTerm(name));
  },
};
