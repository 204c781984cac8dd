/**
 * The PostgreSQL server the specs run against: CHAINSTORE_TEST_POSTGRES_URL, or the local
 * server's `test` database. When it cannot be reached the PostgreSQL specs are skipped with
 * one plain line saying why, unless CHAINSTORE_REQUIRE_POSTGRES is set (as CI does), in
 * which case they fail.
 */
import pg from 'pg';
import { type Connection, connect, schema } from '../../lib';
import { TABLES } from '../../lib/tables';

/** Where the PostgreSQL specs connect. */
export const POSTGRES_URL = process.env.CHAINSTORE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<string | null> | undefined;

/** Null when the server answers, else why not (checked once per run, on the maintenance database). */
export function postgresUnavailable(): Promise<string | null> {
  reachable ??= (async () => {
    const url = new URL(POSTGRES_URL);
    url.pathname = '/postgres';
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (error) {
      return (error as Error).message || String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/**
 * Skips the enclosing suite when PostgreSQL cannot be reached (or fails it, when required).
 * Call it in a `before` hook: `before(skipWithoutPostgres)`.
 */
export async function skipWithoutPostgres(this: Mocha.Context): Promise<void> {
  const why = await postgresUnavailable();
  if (why === null) return;
  if (process.env.CHAINSTORE_REQUIRE_POSTGRES) throw new Error(`PostgreSQL is required but unreachable at ${redacted()}: ${why}`);
  if (!announced) {
    announced = true;
    console.log(`  skipping PostgreSQL specs: no server at ${redacted()} (${why}); set CHAINSTORE_TEST_POSTGRES_URL to run them`);
  }
  this.skip();
}

let announced = false;

function redacted(): string {
  return POSTGRES_URL.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** The name of the test database (the URL's path). */
export const POSTGRES_DATABASE = decodeURIComponent(new URL(POSTGRES_URL).pathname.slice(1)) || 'postgres';

/** The test server's URL with `database` in place of the test database. */
export function postgresUrlFor(database: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * A second database for the specs that make and drop one, named after the test database (so
 * that runs against different test databases never share it). The spec drops it.
 *
 * @example
 * otherPostgres('second');   // { name: 'test_second', connect } for the `test` database
 */
export function otherPostgres(suffix: string): { name: string; connect(): Promise<Connection> } {
  const name = `${POSTGRES_DATABASE}_${suffix}`;
  return { name, connect: () => connect({ backend: 'postgres', url: postgresUrlFor(name) }) };
}

/** A connection to the test database. */
export function connectPostgres(options: Record<string, unknown> = {}): Promise<Connection> {
  return connect({ backend: 'postgres', url: POSTGRES_URL, ...options });
}

/** Empties every table quickly (creating them first if needed): much faster than drop + create. */
export async function truncateAll(conn: Connection): Promise<void> {
  await schema.initDatabase(conn);
  const pgConn = conn as unknown as { query(what: string, text: string): Promise<unknown> };
  await pgConn.query('reset test database', `TRUNCATE ${[...TABLES, 'changes', 'outputs', 'spends', 'block_transactions'].join(', ')} RESTART IDENTITY`);
}
