/**
 * Admin handlers every SQL engine shares: record counts, and no shards or replicas to
 * reshape (a SQL server's replication is configured on the server, not through a client).
 */
import * as admin from '../../lib/admin';
import type { HandlerMap } from '../../lib/dispatch';
import { TABLES, type TableName } from '../../lib/tables';
import type { SqlConnection } from './connection';

const NO_SHARDS = 'its tables are neither sharded nor replicated by chainstore (replication is set up on the server)';

/** The family's admin handlers, registered for SqlConnection. */
export const sqlAdminHandlers: HandlerMap<typeof admin, typeof SqlConnection> = {
  async countRecords(conn) {
    const counts = await Promise.all(
      TABLES.map(async (table) => {
        const [row] = await conn.rows('count records', `SELECT COUNT(*) AS n FROM ${table}`);
        return [table, Number(row.n)] as const;
      }),
    );
    return Object.fromEntries(counts) as Record<TableName, number>;
  },

  reconfigure: admin.unsupported('reconfigure', NO_SHARDS),
  setShards: admin.unsupported('setShards', NO_SHARDS),
  setReplicas: admin.unsupported('setReplicas', NO_SHARDS),
  addReplicas: admin.unsupported('addReplicas', NO_SHARDS),
  removeReplicas: admin.unsupported('removeReplicas', NO_SHARDS),
};
