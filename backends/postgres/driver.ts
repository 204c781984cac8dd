/**
 * The pg driver, imported in one place: loading this backend without the `pg` package
 * installed fails here, and connect() turns that into a ConfigurationError naming it.
 */
import pg from 'pg';

export { pg };
export type { Pool, PoolClient, PoolConfig, QueryConfig, QueryResult, QueryResultRow, Client, Notification } from 'pg';
