/**
 * `admin`: inspecting and reshaping a deployment (docs/design.md section 5), and what a backend
 * can do. An operation that means nothing for an engine rejects with
 * `UnsupportedOperationError` naming the backend; `capabilities(conn)` says so in advance.
 *
 * @module
 */
import type { Connection } from './connection';
import { type GenericSignature, defineInterface, generic, rejectAsync } from './dispatch';
import { UnsupportedOperationError } from './errors';
import { checkArgument, checkKnownKeys } from './model';
import { TABLES, type TableName, isTableName } from './tables';

export type { Capabilities } from './capabilities';

/**
 * Options of {@link reconfigure}.
 *
 * @example
 * await admin.reconfigure(conn, { table: 'transactions', shards: 2, replicas: 3, dryRun: true });
 */
export interface ReconfigureOptions {
  /** One table; default every table. */
  table?: TableName;
  shards: number;
  replicas: number | Record<string, number>;
  /** Report what would change without changing it. */
  dryRun?: boolean;
}

/**
 * Options of the shard and replica setters.
 *
 * @example
 * await admin.setReplicas(conn, 3, { dryRun: true });   // reports the change, makes none
 */
export interface DryRunOptions {
  dryRun?: boolean;
}

function declare<F extends GenericSignature>(name: string, check?: (...args: Parameters<F>) => void) {
  return generic<F>(`admin.${name}`, { failure: rejectAsync, check });
}

const checkCount = (name: string, n: unknown) =>
  checkArgument(name, Number.isSafeInteger(n) && (n as number) >= 1, n, 'a positive integer');
/** `{ dryRun?: boolean }` and nothing else: a misspelt dry run must not become a real change. */
function checkDryRun(options: unknown, otherKeys: readonly string[] = []): void {
  if (options === undefined) return;
  checkArgument('options', options !== null && typeof options === 'object', options, 'an options object');
  checkKnownKeys('options', options as object, ['dryRun', ...otherKeys]);
  const { dryRun } = options as DryRunOptions;
  checkArgument('options.dryRun', dryRun === undefined || typeof dryRun === 'boolean', dryRun, 'a boolean');
}

const checkHosts = (hosts: unknown) =>
  checkArgument(
    'hosts',
    Array.isArray(hosts) && hosts.length > 0 && hosts.every((h) => typeof h === 'string' && h !== ''),
    hosts,
    'a non-empty array of host strings',
  );

/**
 * The engine's configuration as chainstore sees it (version, settings that matter).
 *
 * @example
 * console.log(await admin.getConfig(conn));
 */
export const getConfig = declare<(conn: Connection) => Promise<Record<string, unknown>>>('getConfig');

/**
 * Sets shards and replicas of one table or all tables (RethinkDB).
 *
 * @example
 * await admin.reconfigure(conn, { shards: 2, replicas: 3, dryRun: true });
 */
export const reconfigure = declare<(conn: Connection, options: ReconfigureOptions) => Promise<unknown>>(
  'reconfigure',
  (_c, options) => {
    checkArgument('options', options !== null && typeof options === 'object', options, 'an options object');
    checkDryRun(options, ['table', 'shards', 'replicas']);
    if (options.table !== undefined) checkArgument('options.table', isTableName(options.table), options.table, `one of ${TABLES.join(', ')}`);
    checkCount('options.shards', options.shards);
    if (typeof options.replicas === 'number') checkCount('options.replicas', options.replicas);
  },
);

/**
 * Sets the number of shards of every table.
 *
 * @example
 * await admin.setShards(conn, 4);
 */
export const setShards = declare<(conn: Connection, shards: number, options?: DryRunOptions) => Promise<unknown>>(
  'setShards',
  (_c, n, options) => {
    checkCount('shards', n);
    checkDryRun(options);
  },
);

/**
 * Sets the number of replicas of every table.
 *
 * @example
 * await admin.setReplicas(conn, 3);
 */
export const setReplicas = declare<(conn: Connection, replicas: number, options?: DryRunOptions) => Promise<unknown>>(
  'setReplicas',
  (_c, n, options) => {
    checkCount('replicas', n);
    checkDryRun(options);
  },
);

/**
 * Adds members (`host:port`) to the replica set (MongoDB).
 *
 * @example
 * await admin.addReplicas(conn, ['db4.internal:27017']);
 */
export const addReplicas = declare<(conn: Connection, hosts: string[]) => Promise<void>>('addReplicas', (_c, hosts) =>
  checkHosts(hosts),
);

/**
 * Removes members (`host:port`) from the replica set (MongoDB).
 *
 * @example
 * await admin.removeReplicas(conn, ['db4.internal:27017']);
 */
export const removeReplicas = declare<(conn: Connection, hosts: string[]) => Promise<void>>('removeReplicas', (_c, hosts) =>
  checkHosts(hosts),
);

/**
 * Number of records in each table, by public table name (used by `chainstore status`).
 *
 * @example
 * const { transactions, blocks } = await admin.countRecords(conn);
 */
export const countRecords = declare<(conn: Connection) => Promise<Record<TableName, number>>>('countRecords');

/**
 * A handler for operations a backend does not support: rejects with
 * `UnsupportedOperationError` naming the backend and the operation.
 *
 * @example
 * registerHandlers(SqliteConnection, admin, { setShards: unsupported('setShards') });
 */
export function unsupported(operation: string, why = 'the engine has no such concept') {
  return async (conn: Connection): Promise<never> => {
    throw new UnsupportedOperationError(conn.backend, `${operation} is not supported: ${why}`);
  };
}

defineInterface('admin', {
  getConfig, reconfigure, setShards, setReplicas, addReplicas, removeReplicas, countRecords,
});
