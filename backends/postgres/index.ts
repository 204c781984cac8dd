/**
 * The PostgreSQL backend (driver: `pg`, an optional peer dependency). Its handlers are
 * registered here, in one place, when `connect()` first loads the backend.
 *
 * @example
 * import { connect } from 'chainstore';
 * const conn = await connect({ backend: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/ledger' });
 */
import type { ResolvedConfig } from '../../lib/config';
import { installEngine } from '../sql';
import { adminHandlers, postgresCapabilities } from './admin';
import { changefeedHandlers } from './changefeed';
import { PostgresConnection } from './connection';
import { queryHandlers } from './query';
import { schemaHandlers } from './schema';

installEngine(PostgresConnection, {
  query: queryHandlers,
  schema: schemaHandlers,
  changefeed: changefeedHandlers,
  admin: adminHandlers,
  capabilities: postgresCapabilities,
});

export { PostgresConnection } from './connection';
export type { PostgresOptions } from './connection';
export { PostgresChangeFeed } from './changefeed';

/** The backend factory `connect()` calls. */
export function create(config: ResolvedConfig): PostgresConnection {
  return new PostgresConnection(config);
}
