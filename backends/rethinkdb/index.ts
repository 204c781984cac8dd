/**
 * The RethinkDB backend (driver: `rethinkdb-ts`, an optional peer dependency). Its handlers
 * are registered here, in one place, when `connect()` first loads the backend.
 *
 * `commitBlock` is not registered: the step-by-step protocol registered for the base
 * Connection serves RethinkDB, which has no multi-document transactions.
 *
 * @example
 * import { connect } from 'chainstore';
 * const conn = await connect({ backend: 'rethinkdb', url: 'rethinkdb://admin@127.0.0.1:28015/ledger' });
 */
import * as admin from '../../lib/admin';
import { type Capabilities, capabilities } from '../../lib/capabilities';
import * as changefeed from '../../lib/changefeed';
import type { ResolvedConfig } from '../../lib/config';
import { registerHandlers } from '../../lib/dispatch';
import * as query from '../../lib/query';
import * as schema from '../../lib/schema';
import { adminHandlers, rethinkCapabilities } from './admin';
import { changefeedHandlers } from './changefeed';
import { RethinkConnection } from './connection';
import { pageHandlers } from './pages';
import { queryHandlers } from './query';
import { schemaHandlers } from './schema';

registerHandlers(RethinkConnection, query, queryHandlers);
registerHandlers(RethinkConnection, query, pageHandlers);
registerHandlers(RethinkConnection, schema, schemaHandlers);
registerHandlers(RethinkConnection, changefeed, changefeedHandlers);
registerHandlers(RethinkConnection, admin, adminHandlers);
capabilities.register(RethinkConnection, rethinkCapabilities as (conn: RethinkConnection) => Capabilities);

export { RethinkConnection } from './connection';
export type { RethinkOptions } from './options';
export { RethinkChangeFeed } from './changefeed';

/**
 * The backend factory `connect()` calls.
 *
 * @example
 * const conn = create(resolveConfig('rethinkdb', { name: 'ledger' }, {}));   // a RethinkConnection, opened on first use
 */
export function create(config: ResolvedConfig): RethinkConnection {
  return new RethinkConnection(config);
}
