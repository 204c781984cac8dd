/**
 * The SQL family core: the connection base class and the handlers its engines share.
 * Each engine's index calls {@link registerSqlFamily} before registering its own handlers,
 * which override the family's where the engine does something better.
 *
 * @example
 * registerSqlFamily();
 * registerHandlers(SqliteConnection, query, sqliteQueryHandlers);
 */
import * as admin from '../../lib/admin';
import { type Capabilities, capabilities } from '../../lib/capabilities';
import * as changefeed from '../../lib/changefeed';
import { type HandlerMap, registerHandlers } from '../../lib/dispatch';
import * as query from '../../lib/query';
import * as schema from '../../lib/schema';
import { sqlAdminHandlers } from './admin';
import { SqlConnection } from './connection';
import { sqlPageHandlers } from './pages';
import { sqlQueryHandlers } from './query';

export { SqlConnection, bool } from './connection';
export { ChangeLogFeed } from './changefeed';
export type { Row } from './connection';

/** Registers the family's handlers for SqlConnection (idempotent). */
export function registerSqlFamily(): void {
  registerHandlers(SqlConnection, query, sqlQueryHandlers);
  registerHandlers(SqlConnection, query, sqlPageHandlers);
  registerHandlers(SqlConnection, admin, sqlAdminHandlers);
}

/** An engine's own handlers, by interface module. */
export interface EngineHandlers<C extends typeof SqlConnection> {
  query: HandlerMap<typeof query, C>;
  schema: HandlerMap<typeof schema, C>;
  changefeed: HandlerMap<typeof changefeed, C>;
  admin: HandlerMap<typeof admin, C>;
  capabilities: (conn: InstanceType<C>) => Capabilities;
}

/**
 * Registers a SQL engine: the family's handlers first, then the engine's own, which
 * override them for its connection class.
 *
 * @example
 * installEngine(SqliteConnection, { query: queryHandlers, schema: schemaHandlers, ... });
 */
export function installEngine<C extends typeof SqlConnection>(cls: C, handlers: EngineHandlers<C>): void {
  registerSqlFamily();
  registerHandlers(cls, query, handlers.query);
  registerHandlers(cls, schema, handlers.schema);
  registerHandlers(cls, changefeed, handlers.changefeed);
  registerHandlers(cls, admin, handlers.admin);
  capabilities.register(cls, handlers.capabilities as (conn: InstanceType<C>) => Capabilities);
}
