/**
 * Admin handlers of the postgres backend (record counts and the refusal of shard and
 * replica operations come from the SQL family).
 */
import type * as admin from '../../lib/admin';
import type { Capabilities } from '../../lib/capabilities';
import type { HandlerMap } from '../../lib/dispatch';
import type { PostgresConnection } from './connection';

/** Server settings that matter to a ledger's durability and capacity. */
const SETTINGS = ['server_version', 'max_connections', 'synchronous_commit', 'fsync', 'wal_level', 'shared_buffers', 'default_text_search_config'];

/** The admin handlers of the postgres backend, registered by its index. */
export const adminHandlers: HandlerMap<typeof admin, typeof PostgresConnection> = {
  async getConfig(conn) {
    const rows = await conn.query<{ name: string; setting: string; unit: string | null }>(
      'get config',
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
      [SETTINGS],
    );
    const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
    return {
      backend: conn.backend,
      location: conn.location,
      database: conn.config.name,
      version: settings.server_version,
      settings,
      poolSize: conn.poolSize,
      idleTimeout: conn.idleTimeout,
      pollInterval: conn.pollInterval,
      changeLogRetention: conn.changeLogRetention,
      ssl: Boolean(conn.config.ssl),
    };
  },
};

/**
 * What the postgres backend supports.
 *
 * @example
 * capabilities(conn).atomicCommit;   // true
 */
export function postgresCapabilities(conn: PostgresConnection): Capabilities {
  return {
    backend: conn.backend,
    atomicCommit: true,
    atomicBulkWrite: true,
    changefeed: true,
    crossProcessChangefeed: true,
    textSearch: true,
    linguisticSearch: true,
    admin: { getConfig: true, reconfigure: false, setShards: false, setReplicas: false, addReplicas: false, removeReplicas: false },
    notes: [
      'Writes that change the change log queue on one advisory lock, so events are numbered in commit order.',
      "Text search in a language other than 'english' scans instead of using the index.",
    ],
  };
}
