/**
 * The embedded SQLite backend. Its handlers are registered here, in one place, when
 * `connect()` first loads the backend (or when this module is imported directly).
 *
 * @example
 * import { connect } from 'chainstore';
 * const conn = await connect({ backend: 'sqlite', name: ':memory:' });
 */
import type { ResolvedConfig } from '../../lib/config';
import { installEngine } from '../sql';
import { adminHandlers, sqliteCapabilities } from './admin';
import { changefeedHandlers } from './changefeed';
import { SqliteConnection } from './connection';
import { queryHandlers } from './query';
import { schemaHandlers } from './schema';

installEngine(SqliteConnection, {
  query: queryHandlers,
  schema: schemaHandlers,
  changefeed: changefeedHandlers,
  admin: adminHandlers,
  capabilities: sqliteCapabilities,
});

export { SqliteConnection } from './connection';
export type { SqliteOptions } from './connection';
export { SqliteChangeFeed } from './changefeed';

/**
 * The backend factory `connect()` calls.
 *
 * @example
 * const conn = create(resolveConfig('sqlite', { name: ':memory:' }, {}));   // a SqliteConnection, opened on first use
 */
export function create(config: ResolvedConfig): SqliteConnection {
  return new SqliteConnection(config);
}
