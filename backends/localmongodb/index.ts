/**
 * The MongoDB backend (driver: `mongodb`, an optional peer dependency). Its handlers are
 * registered here, in one place, when `connect()` first loads the backend.
 *
 * @example
 * import { connect } from 'chainstore';
 * const conn = await connect({ backend: 'localmongodb', url: 'mongodb://127.0.0.1:27017/ledger?replicaSet=rs0' });
 */
import * as admin from '../../lib/admin';
import { capabilities } from '../../lib/capabilities';
import * as changefeed from '../../lib/changefeed';
import type { ResolvedConfig } from '../../lib/config';
import { registerHandlers } from '../../lib/dispatch';
import '../../lib/ledger';
import * as query from '../../lib/query';
import * as schema from '../../lib/schema';
import { adminHandlers, mongoCapabilities } from './admin';
import { changefeedHandlers } from './changefeed';
import { MongoConnection } from './connection';
import { pageHandlers } from './pages';
import { queryHandlers } from './query';
import { schemaHandlers } from './schema';

registerHandlers(MongoConnection, query, queryHandlers);
registerHandlers(MongoConnection, query, pageHandlers);
registerHandlers(MongoConnection, schema, schemaHandlers);
registerHandlers(MongoConnection, changefeed, changefeedHandlers);
registerHandlers(MongoConnection, admin, adminHandlers);
capabilities.register(MongoConnection, mongoCapabilities);

export { MongoConnection } from './connection';
export type { MongoOptions } from './options';
export { MongoChangeFeed } from './changefeed';

/**
 * The backend factory `connect()` calls.
 *
 * @example
 * const conn = create(resolveConfig('localmongodb', { url: 'mongodb://127.0.0.1:27017/ledger' }, {}));   // opened on first use
 */
export function create(config: ResolvedConfig): MongoConnection {
  return new MongoConnection(config);
}
