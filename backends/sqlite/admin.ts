/**
 * Admin handlers of the sqlite backend (record counts and the refusal of shard and replica
 * operations come from the SQL family).
 */
import type * as admin from '../../lib/admin';
import type { Capabilities } from '../../lib/capabilities';
import type { HandlerMap } from '../../lib/dispatch';
import type { SqliteConnection } from './connection';

/** The admin handlers of the sqlite backend, registered by its index. */
export const adminHandlers: HandlerMap<typeof admin, typeof SqliteConnection> = {
  async getConfig(conn) {
    return conn.read('get config', () => ({
      backend: conn.backend,
      path: conn.path,
      version: conn.statement('SELECT sqlite_version()').pluck().get(),
      journalMode: conn.db.pragma('journal_mode', { simple: true }),
      synchronous: conn.synchronous,
      busyTimeout: conn.busyTimeout,
      pageSize: conn.db.pragma('page_size', { simple: true }),
      pollInterval: conn.pollInterval,
      changeLogRetention: conn.changeLogRetention,
      cacheSize: conn.cacheSize,
      // In effect, in bytes: SQLite caps the option at its build's maximum (0 in memory).
      mmapBytes: conn.db.pragma('mmap_size', { simple: true }),
      walAutocheckpoint: conn.db.pragma('wal_autocheckpoint', { simple: true }),
      commitThread: conn.commitThread,
    }));
  },
};

/**
 * What the sqlite backend supports.
 *
 * @example
 * capabilities(conn).crossProcessChangefeed;   // true for a file, false for ':memory:'
 */
export function sqliteCapabilities(conn: SqliteConnection): Capabilities {
  return {
    backend: conn.backend,
    atomicCommit: true,
    atomicBulkWrite: true,
    changefeed: true,
    // A private in-memory database is invisible to every other process.
    crossProcessChangefeed: conn.path !== ':memory:',
    textSearch: true,
    linguisticSearch: true,
    admin: { getConfig: true, reconfigure: false, setShards: false, setReplicas: false, addReplicas: false, removeReplicas: false },
    notes: [
      'Several processes may share one file (WAL mode, busy timeout); writes are serialized.',
      'Changefeeds poll the change log every pollInterval ms.',
    ],
  };
}
